# Shell integration for bash, read with `bash --init-file` (conpty_widget/shell_integration.py):
# the user's own startup files first, as bash would have read them, then OSC 133 marks around
# the prompt (A: prompt starts, B: input starts), the command's output (C) and its end (D;status).
# (A bash built to read a system bashrc, as Debian's, has read it already.)
if [ -n "$CONPTY_WIDGET_LOGIN" ]; then
    [ -r /etc/profile ] && . /etc/profile
    for __cw_file in ~/.bash_profile ~/.bash_login ~/.profile; do
        if [ -r "$__cw_file" ]; then . "$__cw_file"; break; fi
    done
    unset __cw_file
elif [ -r ~/.bashrc ]; then
    . ~/.bashrc
fi
unset CONPTY_WIDGET_LOGIN

# Terminal(prompt=...): a plain prompt, shown as written (expanded from a variable, so that no
# backslash escape or $ in it means anything), and a screen cleared of what the startup files printed.
if [ -n "${CONPTY_WIDGET_PROMPT+set}" ]; then
    __cw_ps1=$CONPTY_WIDGET_PROMPT
    if shopt -q promptvars; then PS1='${__cw_ps1}'; else PS1=${__cw_ps1//\\/\\\\}; fi
    unset CONPTY_WIDGET_PROMPT
    printf '\033[H\033[2J\033[3J'
fi

# PS0 (printed once a command line is read, before it runs) needs bash 4.4.
if [ "${BASH_VERSINFO[0]}" -gt 4 ] || { [ "${BASH_VERSINFO[0]}" -eq 4 ] && [ "${BASH_VERSINFO[1]}" -ge 4 ]; }; then
    __cw_status=0
    __cw_save_status() { __cw_status=$?; }
    # Last in PROMPT_COMMAND, so that a prompt set by the user's own PROMPT_COMMAND gets the marks too.
    __cw_prompt() {
        printf '\033]133;D;%s\007' "$__cw_status"
        case "$PS1" in
            *'133;B'*) ;;
            *) PS1='\[\033]133;A\007\]'"$PS1"'\[\033]133;B\007\]' ;;
        esac
        return "$__cw_status"
    }
    # Joined with newlines: a user's PROMPT_COMMAND may end in ";" (pyenv-virtualenv's does), and ";;" is a syntax error.
    PROMPT_COMMAND="__cw_save_status${PROMPT_COMMAND:+
$PROMPT_COMMAND}
__cw_prompt"
    PS0="${PS0}"'\033]133;C\007'
fi
