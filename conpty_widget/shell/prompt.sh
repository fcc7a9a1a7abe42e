# Terminal(prompt=...) for sh and other POSIX shells (dash, ksh, mksh, yash), read as the file
# named by ENV (conpty_widget/shell_integration.py), which an interactive shell reads after its
# profile: the user's own ENV file first, then the plain prompt. The screen is not cleared here: a
# shell without integration gives run() no mark of its first prompt, and keys typed before it
# would be echoed before the clear.
if [ -n "${CONPTY_WIDGET_ENV:-}" ]; then
    ENV=$CONPTY_WIDGET_ENV
    unset CONPTY_WIDGET_ENV
    [ -r "$ENV" ] && . "$ENV"
else
    unset ENV
fi
PS1=$CONPTY_WIDGET_PROMPT
unset CONPTY_WIDGET_PROMPT
