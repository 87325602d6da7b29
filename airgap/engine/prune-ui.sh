#!/usr/bin/env bash
# Cut a github.com/dagger/dagger source tree loose from the modules the Go
# module proxy here does not serve (github.com/vito/dang/v2, vito/tuist,
# vito/midterm pseudo-versions). They back the full CLI's terminal UI and the
# Dang module SDK; the engine only borrows a few glyphs from the UI package.
# Each edit is checked: if upstream code moved, the build stops here with the
# file that needs a look instead of failing later in the compiler.
set -euo pipefail
tree="$1"
cd "$tree"

edit() { # file, sed expression, text that must be gone afterwards
  local file="$1" expr="$2" gone="$3"
  sed -i -e "$expr" "$file"
  if grep -q -- "$gone" "$file"; then
    echo "prune-ui: $file still contains '$gone' after the edit; upstream changed, update airgap/engine/prune-ui.sh" >&2
    exit 1
  fi
}

# The Dang SDK (builtin "dang" module SDK) needs github.com/vito/dang/v2.
rm -rf core/sdk/dang core/sdk/dang_sdk.go
edit core/sdk/loader.go \
  's|return &dangSDK{root: root, rawConfig: sdk.Config}, nil|return nil, fmt.Errorf("the %q module SDK is not part of this air-gapped engine build", sdkDang)|' \
  'dangSDK{'

# Glyphs and a colour profile from the CLI's UI package, inlined.
edit core/terminal.go '
  /"github.com\/dagger\/dagger\/dagql\/idtui"/d
  s|idtui\.NewOutput(term\.Stderr)|termenv.NewOutput(term.Stderr, termenv.WithTTY(true))|
  s|idtui\.DotFilled|"●"|
  s|idtui\.IconFailure|"✘"|
  s|dump := idtui\.Dump{Newline: "\\r\\n", Prefix: "    "}|dump := struct{ Newline string }{Newline: "\\r\\n"}|
  s|if err := dump\.DumpID(output, dumpID); err != nil {|if _, err := fmt.Fprint(term.Stderr, "    "+dumpID.Display()); err != nil {|
' 'idtui\.'
edit util/scrub/scrub.go '
  /"github.com\/dagger\/dagger\/dagql\/idtui"/d
  /"github.com\/vito\/midterm"/d
  s|regexp\.QuoteMeta(midterm\.Reset\.Render())|regexp.QuoteMeta("\\x1b[0m")|
  s|idtui\.SkipLoggedOutTraceMsgEnvs|[]string{"DAGGER_NO_NAG", "NOTHANKS", "SHUTUP", "GOAWAY", "STOPIT"}|
  s|idtui\.IconSuccess|"✔"|g
  s|idtui\.IconCached|"$"|g
' 'idtui\.'
