// Regenerates the conversion matrix in docs/export.md from the exporters' rules:
//   npm run docs:export
// test/export/docs.test.ts fails when the committed page differs from what this writes.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withMatrix } from '../src/export/matrix.js';

const path = join(import.meta.dirname, '..', 'docs', 'export.md');
const before = readFileSync(path, 'utf8');
const after = withMatrix(before);
if (after !== before) writeFileSync(path, after);
console.log(after === before ? 'docs/export.md is up to date' : 'docs/export.md: conversion matrix regenerated');
