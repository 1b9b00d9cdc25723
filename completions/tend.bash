# bash completion for tend. Install: tend completion bash > /etc/bash_completion.d/tend
_tend_services() {
  tend status -o json 2>/dev/null | grep -o '"name": *"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/'
}
_tend() {
  local cur prev verb i
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev="${COMP_WORDS[COMP_CWORD-1]}"
  verb=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "${COMP_WORDS[i]}" in
      --state-dir) ((i++)) ;;
      -*) ;;
      *) verb="${COMP_WORDS[i]}"; break ;;
    esac
  done
  case "$prev" in
    --state-dir|--dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    -o) COMPREPLY=($(compgen -W "json table" -- "$cur")); return ;;
    --sort) COMPREPLY=($(compgen -W "cpu mem restarts name" -- "$cur")); return ;;
    -s|--signal) [[ "$verb" == top ]] && { COMPREPLY=($(compgen -W "cpu mem restarts name" -- "$cur")); return; }; COMPREPLY=($(compgen -W "SIGHUP SIGINT SIGTERM SIGKILL SIGUSR1 SIGUSR2 SIGSTOP SIGCONT" -- "$cur")); return ;;
  esac
  if [[ -z "$verb" ]]; then
    COMPREPLY=($(compgen -W "up down status top logs inspect exec scale restart pause resume kill validate plan events daemon-log completion --state-dir --help --version" -- "$cur"))
    return
  fi
  local opts=""
  case "$verb" in
    up) opts="-d --detach --wait --timeout --settle --no-adopt --wait-for-dir --log-level" ;;
    down) opts="--timeout" ;;
    status) opts="-o --output -w --watch -l --label" ;;
    top) opts="-s --sort --interval" ;;
    logs) opts="-f --follow -n --lines -t --timestamps --since --until" ;;
    inspect) opts="--show-secrets -o --output" ;;
    exec) opts="" ;;
    scale) opts="--dir --commit --wait --timeout" ;;
    restart) opts="--wait --timeout" ;;
    daemon-log) opts="-f --follow -n --lines -o --output" ;;
    kill) opts="-s --signal" ;;
    validate) opts="-o --output --max-replicas" ;;
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
    status|logs|inspect|exec|restart|pause|resume|kill) COMPREPLY=($(compgen -W "$(_tend_services)" -- "$cur")) ;;
    scale) compopt -o nospace 2>/dev/null; COMPREPLY=($(compgen -W "$(_tend_services | sed 's/$/=/')" -- "$cur")) ;;
  esac
}
complete -F _tend tend
