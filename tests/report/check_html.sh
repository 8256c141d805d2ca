#!/usr/bin/env bash
# Loads an HTML report in headless Chromium and checks that it renders cleanly.
#
#   check_html.sh PAGE.html SCREENSHOT.png
#
# Prints on stdout `tables=N` (the <table> elements in the DOM after load) and
# `screenshot=PATH` once the PNG is written. Exits
#   0  the page loaded without console output and fetches nothing;
#   1  a console message or uncaught error, a resource reference (src= or href=
#      that is not "#..." or "data:..."), no screenshot, or Chromium failed or
#      timed out; what was found is printed on stderr;
#   2  bad arguments;
#   77 Chromium is not installed (the exit code CTest and automake read as "skipped").
# CHROMIUM overrides the browser's path (default /usr/bin/chromium).
set -uo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 PAGE.html SCREENSHOT.png" >&2
  exit 2
fi
page=$1
screenshot=$2
chromium=${CHROMIUM:-/usr/bin/chromium}

if [[ ! -x $chromium ]]; then
  echo "check_html: $chromium not found; install Debian's chromium package to check pages" >&2
  exit 77
fi
if [[ ! -f $page ]]; then
  echo "check_html: page '$page' does not exist" >&2
  exit 2
fi
page_abs=$(realpath -- "$page")
shot_dir=$(dirname -- "$screenshot")
if [[ ! -d $shot_dir ]]; then
  echo "check_html: folder '$shot_dir' for the screenshot does not exist" >&2
  exit 2
fi
screenshot_abs=$(realpath -- "$shot_dir")/$(basename -- "$screenshot")
rm -f -- "$screenshot_abs"

# A private profile, config and cache: nothing is read from or left in $HOME.
work=$(mktemp -d "${TMPDIR:-/tmp}/check_html.XXXXXX") || exit 1
trap 'rm -rf -- "$work"' EXIT

# Runs Chromium on the page with extra flags; stdout and stderr go to $work/NAME.{out,err}.
# `timeout` signals the whole process group, so renderer and GPU children end too.
run_chromium() {
  local name=$1
  shift
  mkdir -p "$work/$name.profile"
  XDG_CONFIG_HOME="$work/$name.profile" XDG_CACHE_HOME="$work/$name.profile" \
    timeout --kill-after=5 60 "$chromium" --headless --no-sandbox --disable-gpu \
    --enable-logging=stderr --v=0 --user-data-dir="$work/$name.profile" \
    --window-size=1200,1600 "$@" "file://$page_abs" >"$work/$name.out" 2>"$work/$name.err"
  local rc=$?
  if [[ $rc -ne 0 ]]; then
    if [[ $rc -eq 124 || $rc -eq 137 ]]; then
      echo "check_html: chromium ($name) did not finish within 60 s" >&2
    else
      echo "check_html: chromium ($name) exited with $rc; what it printed, less D-Bus noise:" >&2
    fi
    grep -v -i dbus "$work/$name.err" >&2
    exit 1
  fi
}

run_chromium screenshot --screenshot="$screenshot_abs"
run_chromium dom --dump-dom

status=0

# Page console messages and uncaught exceptions are logged as INFO:CONSOLE(line)
# or INFO:CONSOLE:line depending on the Chromium version. The D-Bus and GPU
# warnings a machine without a D-Bus daemon produces are not about the page.
console=$(cat "$work/screenshot.err" "$work/dom.err" | grep -E 'INFO:CONSOLE|:CONSOLE\(' | sort -u)
if [[ -n $console ]]; then
  echo "check_html: the page wrote to the console:" >&2
  echo "$console" >&2
  status=1
fi

# Headless Chromium does not log failed loads (a missing <img>, stylesheet or font)
# to the console, so references to anything outside the page count as failures:
# a self-contained report fetches nothing. SVG's <use xlink:href="#id"> and CSS
# url(#id) stay allowed.
refs=$( (grep -oE '\b(src|href)="[^"]*"' "$work/dom.out" | grep -vE '^(src|href)="(#|data:)'
         grep -oE 'url\([^)]*\)' "$work/dom.out" | grep -vE "^url\\([\"']?(#|data:)") | sort -u)
if [[ -n $refs ]]; then
  echo "check_html: the page refers to resources outside itself:" >&2
  echo "$refs" >&2
  status=1
fi

tables=$(grep -oE '<table[[:space:]>]' "$work/dom.out" | wc -l)
echo "tables=$tables"

if [[ -s $screenshot_abs ]]; then
  echo "screenshot=$screenshot_abs"
else
  echo "check_html: chromium wrote no screenshot to $screenshot_abs" >&2
  grep -v -i dbus "$work/screenshot.err" >&2
  status=1
fi
exit $status
