// `tend completion bash|zsh`: shell completion scripts. The same text is committed under
// completions/ for packagers; a test keeps the two equal.

import { TendError } from '../errors.js';
import type { Cli } from './context.js';
import { EXIT } from './exit-codes.js';

const VERBS = 'up down status logs scale restart pause resume kill validate plan events completion';

const BASH = `# bash completion for tend. Install: tend completion bash > /etc/bash_completion.d/tend
_tend_services() {
  tend status -o json 2>/dev/null | grep -o '"name": *"[^"]*"' | sed 's/.*"\\([^"]*\\)"$/\\1/'
}
_tend() {
  local cur prev verb i
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  verb=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in
      --state-dir) ((i++)) ;;
      -*) ;;
      *) verb="\${COMP_WORDS[i]}"; break ;;
    esac
  done
  case "$prev" in
    --state-dir|--dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    -o) COMPREPLY=($(compgen -W "json table" -- "$cur")); return ;;
    -s|--signal) COMPREPLY=($(compgen -W "SIGHUP SIGINT SIGTERM SIGKILL SIGUSR1 SIGUSR2 SIGSTOP SIGCONT" -- "$cur")); return ;;
  esac
  if [[ -z "$verb" ]]; then
    COMPREPLY=($(compgen -W "${VERBS} --state-dir --help --version" -- "$cur"))
    return
  fi
  local opts=""
  case "$verb" in
    up) opts="-d --detach --wait --timeout --settle --no-adopt --log-level" ;;
    down) opts="--timeout" ;;
    status) opts="-o --output -w --watch" ;;
    logs) opts="-f --follow -n --lines" ;;
    scale) opts="--dir" ;;
    kill) opts="-s --signal" ;;
    validate) opts="-o --output" ;;
    plan) opts="--exit-code -o --output" ;;
    events) opts="-f --follow -n --lines -o --output" ;;
    completion) COMPREPLY=($(compgen -W "bash zsh" -- "$cur")); return ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$opts --help" -- "$cur"))
    return
  fi
  case "$verb" in
    up|plan|validate) COMPREPLY=($(compgen -f -- "$cur")) ;;
    status|logs|restart|pause|resume|kill) COMPREPLY=($(compgen -W "$(_tend_services)" -- "$cur")) ;;
    scale) compopt -o nospace 2>/dev/null; COMPREPLY=($(compgen -W "$(_tend_services | sed 's/$/=/')" -- "$cur")) ;;
  esac
}
complete -F _tend tend
`;

const ZSH = `#compdef tend
# zsh completion for tend. Install: tend completion zsh > "\${fpath[1]}/_tend"
_tend_services() {
  local -a names
  names=(\${(f)"$(tend status -o json 2>/dev/null | grep -o '"name": *"[^"]*"' | sed 's/.*"\\([^"]*\\)"$/\\1/')"})
  _describe 'service' names
}
_tend() {
  local -a verbs
  verbs=(
    'up:supervise a directory, in the foreground or detached'
    'down:stop every service, then the daemon'
    'status:services, replicas and spec errors'
    'logs:replicas output'
    'scale:edit replicas in the spec file'
    'restart:restart replicas'
    'pause:SIGSTOP replicas'
    'resume:SIGCONT replicas'
    'kill:send a signal to replicas'
    'validate:check spec files'
    'plan:what applying a directory would do'
    'events:event history and live stream'
    'completion:print a shell completion script'
  )
  _arguments -C \\
    '--state-dir[state directory]:directory:_files -/' \\
    '1:command:->verb' \\
    '*::arg:->args'
  case $state in
    verb) _describe 'command' verbs ;;
    args)
      case $words[1] in
        up) _arguments '(-d --detach)'{-d,--detach}'[run detached]' '--wait[wait until converged]' \\
              '--timeout[how long --wait waits]:duration:' '--settle[quiet period]:duration:' \\
              '--no-adopt[stop replicas of an earlier run]' '--log-level[log level]:level:(debug info warn error)' \\
              '1:directory:_files -/' ;;
        down) _arguments '--timeout[how long to wait]:duration:' ;;
        status) _arguments '(-o --output)'{-o,--output}'[format]:format:(json table)' \\
              '(-w --watch)'{-w,--watch}'[refresh every second]' '1:service:_tend_services' ;;
        logs) _arguments '(-f --follow)'{-f,--follow}'[follow]' '(-n --lines)'{-n,--lines}'[lines]:count:' \\
              '1:service:_tend_services' ;;
        scale) _arguments '--dir[spec directory]:directory:_files -/' '*:service=count:_tend_services' ;;
        restart|pause|resume) _arguments '*:service:_tend_services' ;;
        kill) _arguments '(-s --signal)'{-s,--signal}'[signal]:signal:(SIGHUP SIGINT SIGTERM SIGKILL SIGUSR1 SIGUSR2)' \\
              '*:service:_tend_services' ;;
        validate) _arguments '(-o --output)'{-o,--output}'[format]:format:(json table)' '*:path:_files' ;;
        plan) _arguments '--exit-code[exit 2 when there are changes]' \\
              '(-o --output)'{-o,--output}'[format]:format:(json table)' '1:directory:_files -/' ;;
        events) _arguments '(-f --follow)'{-f,--follow}'[follow]' '(-n --lines)'{-n,--lines}'[events]:count:' \\
              '(-o --output)'{-o,--output}'[format]:format:(json table)' ;;
        completion) _arguments '1:shell:(bash zsh)' ;;
      esac ;;
  esac
}
_tend "$@"
`;

/** The completion script for a shell. */
export function completionScript(shell: string): string {
  if (shell === 'bash') return BASH;
  if (shell === 'zsh') return ZSH;
  throw new TendError('API_BAD_REQUEST', `expected a shell, bash or zsh, got "${shell}"`);
}

/** Prints the completion script for a shell. */
export function completionCommand(cli: Cli, shell: string): number {
  cli.out.write(completionScript(shell));
  return EXIT.OK;
}
