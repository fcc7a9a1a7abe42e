# Shell integration for zsh, sourced from the startup files of the ZDOTDIR that
# conpty_widget/shell_integration.py gives zsh, with the file's stage (zshenv, zprofile, zshrc,
# zlogin) as $1: the user's own file of that stage first (from the user's ZDOTDIR), then, in
# zshrc, OSC 133 marks around the prompt (A, B), the command's output (C) and its end (D;status).
__cw_stage=$1
__cw_ours=$ZDOTDIR
ZDOTDIR=${CONPTY_WIDGET_ZDOTDIR:-$HOME}
[[ -r $ZDOTDIR/.$__cw_stage ]] && source "$ZDOTDIR/.$__cw_stage"
CONPTY_WIDGET_ZDOTDIR=$ZDOTDIR  # the user's file may have moved it
ZDOTDIR=$__cw_ours

if [[ $__cw_stage == zshrc ]]; then
    __cw_status=0
    __cw_save_status() { __cw_status=$?; }
    # After a command, before these hooks, zsh prints PROMPT_EOL_MARK, padding and carriage
    # returns (PROMPT_SP, with PROMPT_CR): the D mark goes in front of that mark (as a zero-width
    # %{...%}, with the status as %?), so what zsh prints there is never the command's output.
    __cw_eol=$'%{\e]133;D;%?\a%}'
    # Last in precmd_functions, so that a prompt set by the user's own hooks gets the marks too.
    __cw_prompt() {
        [[ -o prompt_sp && -o prompt_cr && $PROMPT_EOL_MARK == "$__cw_eol"* ]] || print -n "\e]133;D;$__cw_status\a"
        [[ $PROMPT_EOL_MARK == "$__cw_eol"* ]] || PROMPT_EOL_MARK=$__cw_eol${PROMPT_EOL_MARK-%B%S%#%s%b}
        [[ $PS1 == *'133;B'* ]] || PS1=$'%{\e]133;A\a%}'"$PS1"$'%{\e]133;B\a%}'
    }
    PROMPT_EOL_MARK=$__cw_eol${PROMPT_EOL_MARK-%B%S%#%s%b}
    __cw_preexec() { print -n "\e]133;C\a"; }
    precmd_functions=(__cw_save_status $precmd_functions __cw_prompt)
    preexec_functions+=(__cw_preexec)
fi

# Done with our files once the last one zsh reads has run: zlogin for a login shell, else zshrc.
if [[ $__cw_stage == zlogin || ( $__cw_stage == zshrc && ! -o login ) ]]; then
    # Terminal(prompt=...): a plain prompt, shown as written (% doubled; with prompt_subst,
    # expanded from a variable), no right prompt, and a screen cleared of what the startup
    # files printed; after the last of them.
    if [[ -n ${CONPTY_WIDGET_PROMPT+set} ]]; then
        __cw_ps1=${CONPTY_WIDGET_PROMPT//\%/%%}
        if [[ -o prompt_subst ]]; then PS1='${__cw_ps1}'; else PS1=$__cw_ps1; fi
        RPS1= RPROMPT=
        unset CONPTY_WIDGET_PROMPT
        print -n '\e[H\e[2J\e[3J'
    fi
    if [[ -n $CONPTY_WIDGET_ZDOTDIR && $CONPTY_WIDGET_ZDOTDIR != $HOME ]]; then
        ZDOTDIR=$CONPTY_WIDGET_ZDOTDIR
    else
        unset ZDOTDIR
    fi
    unset CONPTY_WIDGET_ZDOTDIR
fi
unset __cw_stage __cw_ours
