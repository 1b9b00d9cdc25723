// Reads a spec directory (or a list of files) into a LoadResult. Each file stands alone, like a
// Kubernetes object: a file that cannot be read, parsed or validated contributes no new services,
// and the services it defined in the previous result stay in force while its problems are reported.
// A directory given as a symlink is resolved again on every call, so switching the link switches
// the release.

import { readdir, realpath, stat } from 'node:fs/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { basename, dirname, extname, isAbsolute, join, relative } from 'node:path';
import { fromWorkingDir, relativeToWorkingDir } from '../util/working-dir.js';
import { createHash } from 'node:crypto';
import { errorMessage, type SpecProblem } from '../errors.js';
import { graphIssues } from '../graph/graph.js';
import { parseEnvFile } from './env-file.js';
import { locate, type PathProblem, type Position, type YamlPath } from './located.js';
import { envFileRefs, normalizeService } from './normalize.js';
import { machineLimits, type MachineLimits } from './limits.js';
import { readRegularFile } from './read-file.js';
import { locateProblems, parseSpecText } from './parse.js';
import { label, schemaProblems } from './schema.js';
import { composeSpellings } from './compose.js';
import { didYouMean } from './suggest.js';
import type { LoadResult, ServiceSpec } from './types.js';

/** Files larger than this are refused before they are read (spec files and env files alike). */
export const MAX_FILE_BYTES = 1024 * 1024;

/**
 * Files read at once. Small on purpose: libuv has four file-I/O threads for the whole daemon, and
 * a load must leave some to the state file, log files and the API.
 */
export const LOAD_CONCURRENCY = 2;

const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export interface LoadOptions {
  /** Upper bound of `replicas` per service (default: what the machine allows, see spec/limits.ts). */
  maxReplicas?: number;
  /** The last result: files that are broken now keep the services they defined in it. */
  previous?: LoadResult;
  /** Read the directory's files but resolve them as if they stood in this directory (`tend plan`
   *  compares a checkout's contents with what runs, as kubectl diff does, not its location). */
  resolveAs?: string;
  /** Called after each file is loaded and the event loop has had a turn (for tests and progress). */
  onFileLoaded?: (path: string) => void;
  /** What each file yielded at the last load with this cache: a file whose text, env files and
   *  context are unchanged is not parsed and validated again. */
  cache?: FileCache;
}

/** What each file of a directory yielded, by path, for the next load of the same directory (a
 *  DirectorySource keeps one). A file's outcome depends on its text, the texts of its env files,
 *  how it is named and resolved, and the machine's limits; when none changed it is reused as is,
 *  its services the same objects. Without it, an edit of one file in a directory of 200 parsed and
 *  validated all 200 again: a reload of 91 ms, 36 ms with it, reading the files being the rest
 *  (bench/reload.ts). */
export class FileCache {
  private readonly entries = new Map<string, CachedOutcome>();

  /** Keeps only the entries of these files (the ones the last load saw). */
  retain(paths: ReadonlySet<string>): void {
    for (const p of this.entries.keys()) if (!paths.has(p)) this.entries.delete(p);
  }

  get(path: string): CachedOutcome | undefined {
    return this.entries.get(path);
  }

  set(path: string, entry: CachedOutcome): void {
    this.entries.set(path, entry);
  }
}

interface CachedOutcome {
  /** The file's name, resolution and limits, serialised. */
  context: string;
  text: string;
  /** Each env file read: where from, and its text (or why it could not be read). */
  env: [string, string][];
  outcome: FileOutcome;
}

/** One file to load: its absolute path, how problems name it, and the real directory it is in. */
interface FileRef {
  path: string;
  display: string;
  realDir: string;
  /** Where it is really read from, when it is resolved as if it stood elsewhere (resolveAs). */
  readPath?: string;
  readDir?: string;
}

/**
 * Where the nodes that later, cross-file problems point at are, per document. Kept instead of the
 * YAML document itself: with thousands of files, holding every parsed document until the end of
 * the load cost long garbage-collection pauses.
 */
interface DocPositions {
  /** The `name:` value, or the start of the document when the name comes from the file name. */
  name: Position;
  /** Each depends_on entry's key (map form) or item (list form). */
  deps: Map<string, Position>;
}

/** What one file yielded on its own. */
interface FileOutcome {
  ref: FileRef;
  services: ServiceSpec[];
  problems: SpecProblem[];
  /** Documents by service name, to point graph and duplicate problems at the right node. */
  docs: Map<string, DocPositions>;
  /** The names each document lists under depends_on, valid or not: a broken file's are checked too. */
  deps: Map<string, string[]>;
  fingerprint: string[];
  /** The env files it read, found or not (where they were read from). */
  envPaths?: string[];
}

// True for the names a spec directory holds: `*.yaml` / `*.yml`, no dotfiles (editor lock files
// such as `.#web.yaml` are dotfiles; `*.swp`, `*~` and vim's `4913` do not end in .yaml).
export function isSpecFileName(name: string): boolean {
  return !name.startsWith('.') && (name.endsWith('.yaml') || name.endsWith('.yml'));
}

// Loads every spec file at the top level of `dir`.
export async function loadDirectory(dir: string, opts: LoadOptions = {}): Promise<LoadResult> {
  const absDir = fromWorkingDir(dir);
  let realDir: string;
  let names: string[];
  const linked: string[] = [];
  try {
    realDir = await realpath(absDir);
    const entries = await readdir(realDir, { withFileTypes: true });
    names = [];
    for (const e of entries) {
      if (!isSpecFileName(e.name) || e.isDirectory()) continue;
      // A symlink counts when it points at something other than a directory; a dangling one (a
      // release switch half done) is skipped. A FIFO or a device named *.yaml is listed, and
      // reading it reports what it is, without blocking on it. Its target is watched: an edit
      // there is no event in this directory.
      if (e.isSymbolicLink()) {
        const target = await stat(join(realDir, e.name)).catch(() => null);
        if (target === null || target.isDirectory()) continue;
        const real = await realpath(join(realDir, e.name)).catch(() => null);
        if (real !== null) linked.push(real);
      }
      names.push(e.name);
    }
  } catch (err) {
    const display = displayPath(dir, absDir);
    // A directory that vanished is most often a deployment half done (`rm -rf` then copy): keep
    // every service of the last good load rather than stop them all. Emptying it stops them.
    return {
      services: opts.previous?.services ?? [],
      problems: [{ file: display, line: 1, column: 1, code: 'SPEC_INVALID', message: `cannot read the directory: ${errorMessage(err)}` }],
      files: opts.previous?.files ?? new Map(),
      fingerprint: createHash('sha256').update(`unreadable:${absDir}`).digest('hex'),
      ...(opts.previous?.watch ? { watch: opts.previous.watch } : {}),
    };
  }
  names.sort();
  if (opts.resolveAs !== undefined) {
    const as = fromWorkingDir(opts.resolveAs);
    const refs = names.map((n) => ({ path: join(as, n), display: displayPath(dir, join(absDir, n)), realDir: as, readPath: join(realDir, n), readDir: realDir }));
    return loadRefs(refs, opts, as, linked);
  }
  const refs = names.map((n) => ({ path: join(absDir, n), display: displayPath(dir, join(absDir, n)), realDir }));
  return loadRefs(refs, opts, realDir, linked);
}

// Loads the given files as one set (for `tend validate FILE...`); each resolves paths against its
// own directory.
export async function loadFiles(paths: string[], opts: LoadOptions = {}): Promise<LoadResult> {
  const refs = await Promise.all(
    paths.map(async (p) => {
      const path = fromWorkingDir(p);
      const realDir = await realpath(dirname(path)).catch(() => dirname(path));
      return { path, display: displayPath(p, path), realDir };
    }),
  );
  return loadRefs(refs, opts, '');
}

// Problems name files the way the user named the directory: relative when it was given relative.
function displayPath(given: string, abs: string): string {
  return isAbsolute(given) ? abs : relativeToWorkingDir(abs);
}

// Loads every file, LOAD_CONCURRENCY at a time, and gives the event loop a turn after each file
// (parsing is synchronous): with 5,000 files the API keeps answering during the load.
async function loadAll(refs: FileRef[], given: LoadOptions): Promise<FileOutcome[]> {
  const opts: FileOptions = { ...given, machine: machineLimits() };
  opts.cache?.retain(new Set(refs.map((r) => r.path)));
  const outcomes: FileOutcome[] = new Array(refs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < refs.length) {
      const i = next++;
      outcomes[i] = await loadFileSafely(refs[i]!, opts);
      await nextTurn();
      opts.onFileLoaded?.(refs[i]!.path);
    }
  };
  await Promise.all(Array.from({ length: Math.min(LOAD_CONCURRENCY, refs.length) }, worker));
  return outcomes;
}

// One file's failure is that file's problem: an unexpected throw while loading it (a bug, or an
// input nobody foresaw) must not stop the other files' changes from applying.
async function loadFileSafely(ref: FileRef, opts: FileOptions): Promise<FileOutcome> {
  try {
    return await loadFile(ref, opts);
  } catch (err) {
    return {
      ref,
      services: [],
      docs: new Map(),
      deps: new Map(),
      fingerprint: [ref.path, `failed:${errorMessage(err)}`],
      problems: [{ file: ref.display, line: 1, column: 1, code: 'SPEC_INVALID', message: `cannot load the file: ${errorMessage(err)}` }],
    };
  }
}

async function loadRefs(refs: FileRef[], opts: LoadOptions, realDir: string, linked: string[] = []): Promise<LoadResult> {
  const outcomes = await loadAll(refs, opts);
  const previous = opts.previous;
  const prevByFile = new Map<string, ServiceSpec[]>();
  for (const s of previous?.services ?? []) prevByFile.set(s.file, [...(prevByFile.get(s.file) ?? []), s]);

  // A file is "bad" when it has problems of its own or its names clash with another file's.
  const bad = new Set<FileOutcome>(outcomes.filter((o) => o.problems.length > 0));
  const duplicateProblems: SpecProblem[] = [];
  for (;;) {
    const owners = new Map<string, { outcome: FileOutcome; kept: boolean }[]>();
    for (const o of outcomes) {
      const kept = bad.has(o);
      const names = kept ? (prevByFile.get(o.ref.path) ?? []).map((s) => s.name) : o.services.map((s) => s.name);
      for (const n of names) owners.set(n, [...(owners.get(n) ?? []), { outcome: o, kept }]);
    }
    let changed = false;
    for (const [name, list] of owners) {
      if (list.length < 2) continue;
      for (const { outcome, kept } of list) {
        if (kept) continue;
        const others = list.filter((x) => x.outcome !== outcome).map((x) => nameFrom(outcome.ref, x.outcome.ref) + (x.kept ? ' (its last good version)' : ''));
        const pos = outcome.docs.get(name)?.name ?? { line: 1, column: 1 };
        duplicateProblems.push({
          file: outcome.ref.display,
          ...pos,
          code: 'SPEC_DUPLICATE',
          service: name,
          message: `service ${JSON.stringify(name)} is also defined in ${others.join(' and ')}; names must be unique`,
        });
        bad.add(outcome);
        changed = true;
      }
    }
    if (!changed) break;
  }

  // The phases below are each linear in the number of files; a turn of the event loop between them
  // keeps any one stall short when there are thousands.
  await nextTurn();
  const services: ServiceSpec[] = [];
  const files = new Map<string, string[]>();
  const docOf = new Map<string, { outcome: FileOutcome; doc: DocPositions | undefined }>();
  for (const o of outcomes) {
    const own = bad.has(o) ? (prevByFile.get(o.ref.path) ?? []) : o.services;
    services.push(...own);
    files.set(o.ref.path, own.map((s) => s.name));
    for (const s of own) docOf.set(s.name, { outcome: o, doc: bad.has(o) ? undefined : o.docs.get(s.name) });
  }

  await nextTurn();
  const byName = new Map(services.map((s) => [s.name, s]));
  // Graph problems are reported, but the services stay: the reconciler blocks only those involved.
  const graphProblems: SpecProblem[] = graphIssues(services).issues.map((issue) => {
    const owner = docOf.get(issue.service)!;
    const spec = byName.get(issue.service)!;
    const pos =
      (issue.dependency !== undefined ? owner.doc?.deps.get(issue.dependency) : undefined) ?? { line: spec.line, column: 1 };
    // "Not defined" would mislead when the service is defined in a file that is broken right now.
    const brokenIn = issue.code === 'GRAPH_MISSING_DEP' ? outcomes.find((o) => bad.has(o) && mayDefine(o, issue.dependency!)) : undefined;
    const message = brokenIn
      ? `depends on ${JSON.stringify(issue.dependency)}, which is not loaded because ${nameFrom(owner.outcome.ref, brokenIn.ref)} has errors`
      : issue.message;
    return { file: owner.outcome.ref.display, ...pos, code: issue.code, service: issue.service, message };
  });

  await nextTurn();
  // A broken file is withheld, so the graph above never saw it; its unknown dependencies are still
  // worth saying now rather than after the other problem is fixed.
  const known = new Set<string>(services.map((s) => s.name));
  for (const o of outcomes) for (const n of o.docs.keys()) known.add(n);
  const missingProblems: SpecProblem[] = [];
  for (const o of outcomes) {
    if (!bad.has(o)) continue;
    for (const [name, deps] of o.deps) {
      const d = o.docs.get(name)!;
      for (const dep of deps) {
        if (dep === name || known.has(dep) || outcomes.some((x) => x.docs.size === 0 && mayDefine(x, dep))) continue;
        missingProblems.push({
          file: o.ref.display,
          ...(d.deps.get(dep) ?? d.name),
          code: 'GRAPH_MISSING_DEP',
          service: name,
          message: `depends on ${JSON.stringify(dep)}, which is not defined${didYouMean(dep, known)}`,
        });
      }
    }
  }

  const problems = [...outcomes.flatMap((o) => o.problems), ...duplicateProblems, ...graphProblems, ...missingProblems].map(printableProblem).sort(
    (a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column,
  );
  await nextTurn();
  const hash = createHash('sha256').update(`dir\0${realDir}\0`);
  for (const o of outcomes) for (const part of o.fingerprint) hash.update(part).update('\0');
  const watch = new Set(linked);
  for (const o of outcomes) for (const path of o.envPaths ?? []) watch.add(path);
  for (const s of services) for (const path of s.envFiles) watch.add(path); // a broken file's last good ones
  return { services, problems, files, fingerprint: hash.digest('hex'), watch: [...watch] };
}

// Every line of output must name its file: a control character in an echoed key, value or file
// name (a newline in a YAML key) is escaped, as JSON would write it.
const CONTROL = /[\u0000-\u001f\u007f\u2028\u2029]/;
const CONTROL_ALL = new RegExp(CONTROL.source, 'g');
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
export function printable(text: string): string {
  return text.replace(CONTROL_ALL, (c) => NAMED[c] ?? (c.charCodeAt(0) < 0x100 ? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}` : `\\u${c.charCodeAt(0).toString(16)}`));
}

function printableProblem(p: SpecProblem): SpecProblem {
  return CONTROL.test(p.message) || CONTROL.test(p.file) ? { ...p, message: printable(p.message), file: printable(p.file) } : p;
}

// How a message in `from` names the file `other`: by its name alone when they share a directory.
function nameFrom(from: FileRef, other: FileRef): string {
  return dirname(from.path) === dirname(other.path) ? basename(other.path) : other.display;
}

// Whether a broken file is where `name` would come from: a document of it names it, or nothing
// of it parsed and the name is its file name.
function mayDefine(o: FileOutcome, name: string): boolean {
  return o.docs.has(name) || (o.docs.size === 0 && basename(o.ref.path, extname(o.ref.path)) === name);
}

/** LoadOptions plus what is read once per load. */
interface FileOptions extends LoadOptions {
  machine: MachineLimits;
}

async function loadFile(ref: FileRef, opts: FileOptions): Promise<FileOutcome> {
  const outcome: FileOutcome = { ref, services: [], problems: [], docs: new Map(), deps: new Map(), fingerprint: [ref.path] };
  const problem = (message: string, code: SpecProblem['code'] = 'SPEC_INVALID'): FileOutcome => {
    outcome.problems.push({ file: ref.display, line: 1, column: 1, code, message });
    return outcome;
  };
  const read = await readRegularFile(ref.readPath ?? ref.path, MAX_FILE_BYTES);
  if (!read.ok) {
    outcome.fingerprint.push(read.code === 'SPEC_TOO_LARGE' ? `size:${read.size}:${read.mtimeMs}` : `unreadable:${read.reason}`);
    return problem(read.code === 'SPEC_TOO_LARGE' ? `file ${read.reason}` : `the file ${read.reason}`, read.code);
  }
  const text = read.text;
  const context = JSON.stringify([ref.path, ref.display, ref.realDir, ref.readPath ?? null, ref.readDir ?? null, opts.machine, opts.maxReplicas ?? null]);
  const cached = opts.cache?.get(ref.path);
  if (cached && cached.context === context && cached.text === text && (await sameEnvFiles(cached.env))) return cached.outcome;
  const envRead: [string, string][] = [];
  outcome.fingerprint.push(text);

  const parsed = parseSpecText(text, ref.display);
  outcome.problems.push(...parsed.problems);
  const several = parsed.documents.length > 1;
  const fileName = basename(ref.path, extname(ref.path));
  for (const d of parsed.documents) {
    const value = d.value;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      outcome.problems.push(...locateProblems(ref.display, d, [{ path: [], code: 'SPEC_INVALID', message: `a service must be a mapping of keys, got ${Array.isArray(value) ? 'a list' : JSON.stringify(value)}` }]));
      continue;
    }
    const compose = composeSpellings(value as Record<string, unknown>);
    const found = schemaProblems(compose.value);
    // Nodes the schema rejected are left out, so the rules below can still check the others.
    const raw = without(compose.value, found.map((p) => p.path));

    let name: string;
    if (typeof raw.name === 'string') name = raw.name;
    else if (several) {
      found.push({ path: [], code: 'SPEC_INVALID', message: 'this file holds several services, so each needs a `name:`' });
      name = '';
    } else {
      name = fileName;
      if (!NAME.test(name) && !('name' in value)) {
        found.push({ path: [], code: 'SPEC_INVALID', message: `the file name ${JSON.stringify(fileName)} is not a valid service name (lowercase letters, digits, "-" and "_", starting with a letter or digit); rename the file or set \`name:\`` });
      }
    }
    if (name !== '' && outcome.docs.has(name)) {
      found.push({ path: 'name' in raw ? ['name'] : [], code: 'SPEC_DUPLICATE', message: `service ${JSON.stringify(name)} is defined twice in this file` });
    }

    const envFiles = new Map<string, [string, string][] | string>();
    for (const { path } of envFileRefs(raw, ref.realDir)) {
      if (envFiles.has(path)) continue;
      // Read from where the file really is when it is resolved as if it stood elsewhere (resolveAs).
      const from = ref.readDir !== undefined ? join(ref.readDir, relative(ref.realDir, path)) : path;
      const got = await readRegularFile(from, MAX_FILE_BYTES);
      const seen = envText(got);
      outcome.fingerprint.push(`env:${path}`, seen);
      envRead.push([from, seen]);
      if (!got.ok) {
        envFiles.set(path, got.reason);
        continue;
      }
      const env = parseEnvFile(got.text);
      const envDisplay = isAbsolute(ref.display) ? path : relativeToWorkingDir(path);
      for (const p of env.problems) outcome.problems.push({ file: envDisplay, line: p.line, column: p.column, code: 'SPEC_INVALID', message: `env_file: ${p.message}`, ...(name ? { service: name } : {}) });
      envFiles.set(path, env.entries);
    }
    const result = normalizeService({ raw, name, file: ref.path, dir: ref.realDir, line: d.line, envFiles, machine: opts.machine, ...(opts.maxReplicas === undefined ? {} : { maxReplicas: opts.maxReplicas }) });
    found.push(...result.problems);
    const atUser = [...compose.problems, ...found.map((p) => toUserPath(p, compose.userPath))];
    outcome.problems.push(...locateProblems(ref.display, d, atUser, name || undefined));
    if (name !== '' && !outcome.docs.has(name)) {
      const deps = dependencyNames(compose.value);
      outcome.docs.set(name, {
        name: locate(d.doc, d.lines, 'name' in (value as object) ? ['name'] : []),
        deps: new Map(deps.map((dep) => [dep, locate(d.doc, d.lines, ['depends_on', dep], 'key')])),
      });
      outcome.deps.set(name, deps);
    }
    if (result.spec && found.length === 0) outcome.services.push(result.spec);
  }
  // Each file stands alone: one bad document withholds the whole file.
  if (outcome.problems.length > 0) outcome.services = [];
  if (envRead.length > 0) outcome.envPaths = envRead.map(([from]) => from);
  opts.cache?.set(ref.path, { context, text, env: envRead, outcome });
  return outcome;
}

/** An env file as a file's outcome saw it: its text, or why it could not be read. */
function envText(read: Awaited<ReturnType<typeof readRegularFile>>): string {
  return read.ok ? read.text : `<${read.reason}>`;
}

/** Whether every env file a cached outcome read still reads the same. */
async function sameEnvFiles(env: readonly [string, string][]): Promise<boolean> {
  for (const [from, seen] of env) if (envText(await readRegularFile(from, MAX_FILE_BYTES)) !== seen) return false;
  return true;
}

// A problem found on a key rewritten from its compose spelling, pointed at what the user wrote.
function toUserPath(p: PathProblem, userPath: (path: YamlPath) => YamlPath): PathProblem {
  const path = userPath(p.path);
  if (path === p.path || path.join('\0') === p.path.join('\0')) return p;
  const from = label(p.path);
  return { ...p, path, message: p.message.startsWith(from) ? label(path) + p.message.slice(from.length) : p.message };
}

// The service names under depends_on, in either form, whatever else is wrong with the document.
function dependencyNames(value: Record<string, unknown>): string[] {
  const d = value.depends_on;
  // An invalid name is reported by the schema already; only well-formed names are looked up.
  const names = Array.isArray(d) ? d.filter((x): x is string => typeof x === 'string') : d !== null && typeof d === 'object' ? Object.keys(d) : [];
  return names.filter((n) => NAME.test(n));
}

// A copy of `value` without the nodes at `paths` (the copy is shallow except along those paths).
function without(value: Record<string, unknown>, paths: (string | number)[][]): Record<string, unknown> {
  const root: Record<string, unknown> = { ...value };
  for (const path of paths) {
    if (path.length === 0) continue;
    let node: Record<string | number, unknown> = root;
    for (const seg of path.slice(0, -1)) {
      const child = node[seg];
      if (child === null || typeof child !== 'object') break;
      node[seg] = Array.isArray(child) ? [...child] : { ...child };
      node = node[seg] as Record<string | number, unknown>;
    }
    const last = path[path.length - 1]!;
    if (Array.isArray(node)) node[last as number] = undefined;
    else delete node[last];
  }
  return root;
}
