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
      --state-dir|--client-timeout) ((i++)) ;;
      -*) ;;
      *) verb="${COMP_WORDS[i]}"; break ;;
    esac
  done
  case "$verb" in ps|ls|list) verb=status ;; monit) verb=top ;; describe) verb=inspect ;; esac
  case "$prev" in
    --state-dir|--dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    -o|--output) if [[ "$verb" == export ]]; then COMPREPLY=($(compgen -f -- "$cur")); elif [[ "$verb" == import ]]; then COMPREPLY=($(compgen -d -- "$cur")); elif [[ "$verb" == daemon-log ]]; then COMPREPLY=($(compgen -W "json text" -- "$cur")); else COMPREPLY=($(compgen -W "json table" -- "$cur")); fi; return ;;
    --report) COMPREPLY=($(compgen -W "table json none" -- "$cur")); return ;;
    --driver) COMPREPLY=($(compgen -W "raw_exec exec" -- "$cur")); return ;;
    --ports) COMPREPLY=($(compgen -W "dynamic index" -- "$cur")); return ;;
    --image) compopt -o nospace 2>/dev/null; COMPREPLY=($(compgen -W "$(ls services.d 2>/dev/null | sed -n 's/\.ya\?ml$/=/p')" -- "$cur")); return ;;
    -u|--user) [[ "$verb" == exec ]] && { COMPREPLY=($(compgen -u -- "$cur")); return; } ;;
    --from) COMPREPLY=($(compgen -W "process-compose supervisord pm2 procfile zinit" -- "$cur")); return ;;
    --sort) COMPREPLY=($(compgen -W "cpu mem restarts name" -- "$cur")); return ;;
    -s|--signal) [[ "$verb" == top ]] && { COMPREPLY=($(compgen -W "cpu mem restarts name" -- "$cur")); return; }; COMPREPLY=($(compgen -W "SIGHUP SIGINT SIGTERM SIGKILL SIGUSR1 SIGUSR2 SIGSTOP SIGCONT" -- "$cur")); return ;;
  esac
  if [[ -z "$verb" ]]; then
    COMPREPLY=($(compgen -W "up down status top logs inspect exec scale restart pause resume kill stop start validate plan export import events history dashboard daemon-log notify completion startup --state-dir --client-timeout --help --version" -- "$cur"))
    return
  fi
  local opts=""
  case "$verb" in
    up) opts="-d --detach --wait --timeout --settle --no-adopt --wait-for-dir --log-level --max-replicas --http --http-allow-remote" ;;
    down) opts="--timeout" ;;
    status) opts="-o --output -w --watch -l --label" ;;
    top) opts="-s --sort --interval" ;;
    logs) opts="-f --follow -n --lines --tail -t --timestamps --since --until --no-prefix --no-log-prefix" ;;
    inspect) opts="--show-secrets -o --output" ;;
    exec) opts="-u --user" ;;
    scale) opts="--dir --commit --wait --timeout" ;;
    restart|start|stop) opts="--wait --timeout" ;;
    dashboard) opts="--no-open" ;;
    daemon-log) opts="-f --follow -n --lines -o --output" ;;
    kill) opts="-s --signal" ;;
    validate) opts="-o --output --max-replicas" ;;
    plan) opts="--exit-code --switch -o --output" ;;
    export) opts="-o --output --strict --report --driver --job --ports --image --namespace --wait-image" ;;
    import) opts="--from -o --output --dry-run --force --strict --report --env" ;;
    events) opts="-f --follow -n --lines --since -o --output" ;;
    history) opts="--since -o --output" ;;
    notify) opts="--ready --status --heartbeat --event --data" ;;
    startup) opts="--user --name --install" ;;
    completion) COMPREPLY=($(compgen -W "bash zsh" -- "$cur")); return ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$opts --help" -- "$cur"))
    return
  fi
  case "$verb" in
    up|plan|validate|startup) COMPREPLY=($(compgen -f -- "$cur")) ;;
    import) COMPREPLY=($(compgen -f -- "$cur")) ;;
    export) if [[ "$prev" == export ]]; then COMPREPLY=($(compgen -W "nomad k8s" -- "$cur")); else COMPREPLY=($(compgen -d -- "$cur")); fi ;;
    status|logs|inspect|exec|restart|pause|resume|kill|stop|start|history) COMPREPLY=($(compgen -W "$(_tend_services)" -- "$cur")) ;;
    scale) compopt -o nospace 2>/dev/null; COMPREPLY=($(compgen -W "$(_tend_services | sed 's/$/=/')" -- "$cur")) ;;
  esac
}
complete -F _tend tend
