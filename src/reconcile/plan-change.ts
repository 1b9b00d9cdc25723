// The wire shape of one line of `tend plan`, kept free of imports so the dashboard's browser build
// can use it.

/** One line of `tend plan`. op: + start, - stop, ~ replace or update, = scale, ! problem. */
export interface PlanChange {
  op: '+' | '-' | '~' | '=' | '!';
  service: string;
  index?: number;
  /** The rendered line: `+ web/2 start`, `~ api replace (env.LOG_LEVEL changed)`, `= worker scale 3 → 5`. */
  text: string;
}
