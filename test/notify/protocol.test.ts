// The two wire formats as tables: sd_notify datagrams and tend's JSON lines.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { parseSdNotify, parseStreamLine } from '../../src/notify/protocol.js';

test('sd_notify datagrams: every variable tend uses, unknown ones ignored, bad assignments refused one by one', () => {
  const ready = { kind: 'ready' } as const;
  const cases: [string, ReturnType<typeof parseSdNotify>][] = [
    ['READY=1\nSTATUS=up and running', { messages: [ready, { kind: 'status', text: 'up and running' }], refused: [] }],
    ['WATCHDOG=1', { messages: [{ kind: 'heartbeat' }], refused: [] }],
    ['WATCHDOG=trigger', { messages: [], refused: [] }],
    ['STOPPING=1\nRELOADING=1\nERRNO=2', { messages: [{ kind: 'stopping' }, { kind: 'reloading' }, { kind: 'errno', errno: 2 }], refused: [] }],
    ['EXTEND_TIMEOUT_USEC=1500', { messages: [{ kind: 'extendTimeout', ms: 2 }], refused: [] }],
    ['WATCHDOG_USEC=30000000', { messages: [{ kind: 'watchdogPeriod', ms: 30_000 }], refused: [] }],
    ['MAINPID=42\nBARRIER=1\nFDSTORE=1\n', { messages: [], refused: [] }],
    ['STATUS=a=b', { messages: [{ kind: 'status', text: 'a=b' }], refused: [] }],
    ['READY', { messages: [], refused: ['not VAR=VALUE: READY'] }],
    ['ERRNO=-1', { messages: [], refused: ['ERRNO=-1'] }],
    ['EXTEND_TIMEOUT_USEC=soon', { messages: [], refused: ['EXTEND_TIMEOUT_USEC=soon'] }],
    // As systemd does, a bad assignment is ignored alone: the READY beside it stands.
    ['READY=1\nWATCHDOG_USEC=0', { messages: [ready], refused: ['WATCHDOG_USEC=0'] }],
    ['READY=1\nERRNO=abc', { messages: [ready], refused: ['ERRNO=abc'] }],
    ['junk\nREADY=1\nSTATUS=up', { messages: [ready, { kind: 'status', text: 'up' }], refused: ['not VAR=VALUE: junk'] }],
    ['ERRNO=x\nWATCHDOG=1\n=1', { messages: [{ kind: 'heartbeat' }], refused: ['ERRNO=x', 'not VAR=VALUE: =1'] }],
  ];
  for (const [input, want] of cases) assert.deepEqual(parseSdNotify(input), want, JSON.stringify(input));
  const long = parseSdNotify(`STATUS=${'x'.repeat(2000)}`);
  assert.ok(long.messages[0]!.kind === 'status' && long.messages[0]!.text.length === 512, 'STATUS is cut to 512 characters');
});

test('stream lines: hello, ping and messages parse; anything else is malformed with a reason', () => {
  assert.deepEqual(parseStreamLine('{"type":"hello","token":"t","id":1}'), { ok: true, line: { type: 'hello', token: 't', id: 1 } });
  assert.deepEqual(parseStreamLine('{"type":"ping","id":"x"}'), { ok: true, line: { type: 'ping', id: 'x' } });
  assert.deepEqual(parseStreamLine('{"type":"event","name":"p","data":{"a":1}}'), { ok: true, line: { type: 'message', message: { kind: 'event', name: 'p', data: { a: 1 } } } });
  assert.deepEqual(parseStreamLine('{"type":"event","name":"p"}'), { ok: true, line: { type: 'message', message: { kind: 'event', name: 'p', data: null } } });
  const bad: [string, RegExp][] = [
    ['{nope', /^not JSON/],
    ['[1,2]', /a line must be a JSON object/],
    ['"ready"', /a line must be a JSON object/],
    ['{"type":"status"}', /status needs a "text" string/],
    ['{"type":"event","name":""}', /event needs a "name" string/],
    ['{"type":"hello"}', /hello needs a "token" string/],
    ['{"type":"launch"}', /unknown type "launch"/],
  ];
  for (const [line, detail] of bad) {
    const p = parseStreamLine(line);
    assert.equal(p.ok, false, line);
    if (!p.ok) {
      assert.equal(p.reason, 'malformed');
      assert.match(p.detail, detail);
    }
  }
  const withId = parseStreamLine('{"type":"status","id":9}');
  assert.ok(!withId.ok && withId.id === 9, 'a refused line keeps its id for the ack');
});
