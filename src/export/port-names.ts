// Names of ports in exported objects. A tend port is named by an environment variable (PORT, port
// and PROMETHEUS_METRICS_PORT_TLS are all valid), but Kubernetes names ports as IANA service names
// (at most 15 characters) and Nomad labels them, and both refuse a name used twice: a container's
// ports, a Service's ports and a task group's network each need distinct names. Plain cutting and
// lower-casing made distinct variables one name (PROMETHEUS_METRICS_PORT and …_PORT_TLS both
// "prometheus-metr"), which the API server rejects. Pure and deterministic: the same names in the
// same order give the same results, so a re-export does not rename ports.

const IANA_MAX = 15;

export interface PortName {
  name: string;
  /** Why `name` is not the variable in lower case with "-" for "_" (shortened, numbered, "p-"). */
  note?: string;
}

// The variable in lower case, runs of anything but letters and digits as one "-", none at the ends.
function plainK8s(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
}

// `text` cut to `max` characters, without a "-" at the cut.
function cut(text: string, max: number): string {
  return text.slice(0, max).replace(/-+$/, '');
}

// The Kubernetes name of each `ports:` variable (IANA_SVC_NAME: 1–15 lowercase letters, digits and
// "-", a letter among them, no "-" at either end or twice). A name that fits as it is keeps it,
// first come first served; then, in order, each other name is cut to 15 characters, and numbered
// (-2, -3, ...) while that is taken. Container ports, the Service's ports and its targetPorts all
// use these names, so they agree.
export function k8sPortNames(names: readonly string[]): Map<string, PortName> {
  const out = new Map<string, PortName>();
  const owner = new Map<string, string>(); // port name → the variable that has it
  const stems = new Map<string, { stem: string; prefixed: boolean }>();
  for (const n of names) {
    const plain = plainK8s(n);
    // A name needs a letter: one that has none, or none before where it may be cut, gets "p-".
    const fits = plain.length <= IANA_MAX && /[a-z]/.test(plain);
    const prefixed = !fits && !/[a-z]/.test(plain.slice(0, IANA_MAX - 3));
    stems.set(n, { stem: prefixed ? cut(`p-${plain}`, 63) : plain, prefixed });
  }
  // First every name that fits unchanged, so that no generated name displaces one.
  for (const n of names) {
    const { stem, prefixed } = stems.get(n)!;
    if (stem.length <= IANA_MAX && !owner.has(stem)) {
      owner.set(stem, n);
      out.set(n, prefixed ? { name: stem, note: 'p- added: a port name needs a letter' } : { name: stem });
    }
  }
  for (const n of names) {
    if (out.has(n)) continue;
    const { stem, prefixed } = stems.get(n)!;
    const shortened = stem.length > IANA_MAX;
    const first = cut(stem, IANA_MAX);
    let name = first;
    for (let i = 2; owner.has(name); i++) {
      const head = cut(stem, IANA_MAX - `-${i}`.length);
      name = /[a-z]/.test(head) ? `${head}-${i}` : `p-${i}`;
    }
    const what = [prefixed ? 'p- added' : '', shortened ? 'shortened' : '', name !== first ? 'numbered' : ''].filter(Boolean).join(' and ').replace(/ and (?=.* and )/, ', ');
    const why = name !== first ? `${first} is ${owner.get(first)}'s` : shortened ? `port names are at most ${IANA_MAX} characters` : 'a port name needs a letter';
    owner.set(name, n);
    out.set(n, { name, note: `${what}: ${why}` });
  }
  return out;
}

// The port labels of one Nomad task group. Nomad refuses a label used twice in a group's network,
// and a group holds the ports of its main task and of its prestart tasks. A `ports:` name that is
// a dynamic port is one port for the whole group (a prestart oneshot's PORT and the service's PORT
// share it: the oneshot exits before the service starts); a fixed number is one reservation (Nomad
// cannot reserve a port twice), whatever names it. Anything else gets its own label: the preferred
// one, or that with _2, _3, ... while taken.
export class NomadPortLabels {
  readonly dynamicPorts: { Label: string }[] = [];
  readonly reservedPorts: { Label: string; Value: number }[] = [];
  private readonly byKey = new Map<string, string>();
  // label → whose it is (service, and a `ports:` name or "port N"), for the report's notes
  private readonly owner = new Map<string, { service: string; what: string }>();

  /** The label of the dynamic port for `ports:` name `name` (of `service`, for notes). */
  dynamic(name: string, preferred: string, service = ''): string {
    return this.labelOf(`dynamic ${name}`, preferred, { service, what: name }, (Label) => this.dynamicPorts.push({ Label }));
  }

  /** The label of the reserved port `value`; `what` names it (a `ports:` name, else "port N"). */
  reserved(value: number, preferred: string, service = '', what = `port ${value}`): string {
    return this.labelOf(`reserved ${value}`, preferred, { service, what }, (Label) => this.reservedPorts.push({ Label, Value: value }));
  }

  /** Why `label` is not `preferred`, as `service` reads it; undefined when it is. */
  note(label: string, preferred: string, service = ''): string | undefined {
    const o = this.owner.get(preferred);
    if (label === preferred || !o) return undefined;
    return `label ${preferred} is taken by ${o.service === service ? '' : `${o.service}'s `}${o.what}`;
  }

  private labelOf(key: string, preferred: string, owner: { service: string; what: string }, add: (label: string) => void): string {
    const known = this.byKey.get(key);
    if (known !== undefined) return known;
    let label = preferred;
    for (let i = 2; this.owner.has(label); i++) label = `${preferred}_${i}`;
    this.byKey.set(key, label);
    this.owner.set(label, owner);
    add(label);
    return label;
  }
}
