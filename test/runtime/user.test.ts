// resolveUser reads /etc/passwd and /etc/group as a login would see them: tables of files written
// here, so every case is exact whatever the machine's own users are.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { accountEnv, lookupUser, resolveUser } from '../../src/runtime/user.js';
import { tempDir } from '../helpers/index.js';

test('resolveUser: by name and by uid, with home, shell and every group it is a member of', (t) => {
  const dir = tempDir(t, {
    passwd: 'root:x:0:0:root:/root:/bin/bash\napp:x:1001:1001:App:/srv/app:/bin/sh\nbare:x:1002:1002\n',
    group: 'root:x:0:\napp:x:1001:\nssl-cert:x:103:postgres,app\ndocker:x:999:app\nappish:x:998:apps\nbroken\n',
  });
  const passwd = join(dir, 'passwd');
  const group = join(dir, 'group');
  const cases: [string, ReturnType<typeof resolveUser>][] = [
    ['app', { uid: 1001, gid: 1001, name: 'app', home: '/srv/app', shell: '/bin/sh', groups: [1001, 103, 999] }],
    ['1001', { uid: 1001, gid: 1001, name: 'app', home: '/srv/app', shell: '/bin/sh', groups: [1001, 103, 999] }],
    ['bare', { uid: 1002, gid: 1002, name: 'bare', groups: [1002] }],
    ['4242', { uid: 4242, gid: 4242, groups: [4242] }], // a uid with no entry, as containers run
    ['nosuch', null],
  ];
  for (const [user, expected] of cases) assert.deepEqual(resolveUser(user, passwd, group), expected, user);
  assert.deepEqual(resolveUser('app', join(dir, 'none'), group), null, 'no passwd file: names do not resolve');
});

test('accountEnv: what a login as the user has, and nothing it does not know', () => {
  assert.deepEqual(accountEnv({ uid: 1001, gid: 1001, name: 'app', home: '/srv/app', shell: '/bin/sh', groups: [1001] }), {
    HOME: '/srv/app',
    USER: 'app',
    LOGNAME: 'app',
    SHELL: '/bin/sh',
  });
  assert.deepEqual(accountEnv({ uid: 4242, gid: 4242, groups: [4242] }), {});
});

test('lookupUser: what resolveUser reads from the system files, read once while they do not change', () => {
  const first = lookupUser('root');
  assert.deepEqual(first, resolveUser('root'));
  assert.equal(lookupUser('root'), first, 'the same answer, not a second read');
  assert.equal(lookupUser('no-such-user-x'), null);
});
