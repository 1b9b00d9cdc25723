// A unified diff of two versions of a small text, for showing an edit before it is made (the
// dashboard's scale confirms with it). Edits made by tend touch one contiguous run of lines, so the
// diff is one hunk: the common head and tail are trimmed and `context` lines kept around the change.

/** `--- a/file`, `+++ b/file` and one `@@` hunk; empty when the texts are equal. */
export function lineDiff(before: string, after: string, name: string, context = 2): string {
  if (before === after) return '';
  const a = before.split('\n');
  const b = after.split('\n');
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const from = Math.max(0, head - context);
  const aEnd = Math.min(a.length, a.length - tail + context);
  const bEnd = Math.min(b.length, b.length - tail + context);
  const lines = [
    `--- a/${name}`,
    `+++ b/${name}`,
    `@@ -${from + 1},${aEnd - from} +${from + 1},${bEnd - from} @@`,
    ...a.slice(from, head).map((l) => ` ${l}`),
    ...a.slice(head, a.length - tail).map((l) => `-${l}`),
    ...b.slice(head, b.length - tail).map((l) => `+${l}`),
    ...a.slice(a.length - tail, aEnd).map((l) => ` ${l}`),
  ];
  return lines.join('\n') + '\n';
}
