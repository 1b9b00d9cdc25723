// The API's types name NodeJS.Signals; the page reads them without Node's typings (which would let
// Node-only globals slip into browser code unnoticed).
declare namespace NodeJS {
  type Signals = string;
}
