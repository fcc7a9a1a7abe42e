# Shell integration for PowerShell (Windows PowerShell 5.1 and PowerShell 7), run with
# `-NoExit -EncodedCommand` (conpty_widget/shell_integration.py) once PowerShell has read the
# user's profiles: OSC 133 marks around the prompt (A: prompt starts, B: input starts), before a
# command runs (C, from PSReadLine's line reader) and after it (D;status). The prompt is the
# user's own (their `prompt` function, or PowerShell's default), called as before, or the
# plain text of Terminal(prompt=...).
if (Test-Path variable:global:__cw_prompt) { return }  # already installed

$global:__cw_user_prompt = $function:prompt
# Terminal(prompt=...): a plain prompt instead of the user's, and a screen cleared of what the
# profiles printed.
if ($null -ne $env:CONPTY_WIDGET_PROMPT) {
    $global:__cw_plain_prompt = $env:CONPTY_WIDGET_PROMPT
    Remove-Item Env:CONPTY_WIDGET_PROMPT
    $global:__cw_user_prompt = { $global:__cw_plain_prompt }
    Clear-Host
}
$global:__cw_prompts = 0

function global:prompt {
    # $? and $LASTEXITCODE of the command that just ran: read first, before anything changes them.
    $ok = $global:?
    $code = $global:LASTEXITCODE
    $esc, $bel = [char]27, [char]7
    if ($global:__cw_prompts -gt 0) {
        # As run()'s text markers count it: 0 on success, else the native exit code, else 1.
        $status = if ($ok) { 0 } elseif ($code) { $code } else { 1 }
        [Console]::Write("$esc]133;D;$status$bel")
    }
    $global:__cw_prompts += 1
    # Written now, so that a prompt that writes with Write-Host still comes after A.
    [Console]::Write("$esc]133;A$bel")
    $text = & $global:__cw_user_prompt
    $global:LASTEXITCODE = $code  # the user's prompt may run programs of its own
    "$text$esc]133;B$bel"
}
$global:__cw_prompt = $function:prompt

if (Get-Command PSConsoleHostReadLine -ErrorAction SilentlyContinue) {
    $global:__cw_read_line = $function:PSConsoleHostReadLine
    function global:PSConsoleHostReadLine {
        $line = & $global:__cw_read_line
        # C only while the prompt is ours: a prompt the user defined since prints no D to end it.
        if ($function:prompt -eq $global:__cw_prompt) { [Console]::Write("$([char]27)]133;C$([char]7)") }
        $line
    }
}
