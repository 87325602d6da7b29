// Command dagger (air-gapped client) is the part of the Dagger CLI that
// client-mode SDKs and `dagger run` need: it opens an engine session and
// serves the engine API on a loopback port. It is built from the same
// github.com/dagger/dagger source as the engine, for machines where the full
// CLI cannot be built because its terminal UI modules are not served by the
// Go module proxy. Progress is printed as plain lines on stderr.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/dagger/dagger/engine"
	"github.com/dagger/dagger/engine/client"
)

const usage = `usage: dagger <command>

  session   serve an engine session for an SDK (prints {"port","session_token"})
  run CMD   run CMD with DAGGER_SESSION_PORT and DAGGER_SESSION_TOKEN set
  version   print the version

The engine is reached at $_EXPERIMENTAL_DAGGER_RUNNER_HOST.
Set DAGGER_PROGRESS=quiet to silence progress lines.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	// discard SIGPIPE: the SDK may close our stdout/stderr when it goes away
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	var err error
	switch os.Args[1] {
	case "version", "--version":
		fmt.Printf("dagger %s (air-gapped client: session, run)\n", engine.Version)
		return
	case "session":
		err = session(os.Args[2:])
	case "run":
		var code int
		code, err = run(os.Args[2:])
		if err == nil {
			os.Exit(code)
		}
	case "help", "-h", "--help":
		fmt.Print(usage)
		return
	default:
		err = fmt.Errorf("unknown command %q: this air-gapped client supports session, run and version", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "dagger:", err)
		os.Exit(1)
	}
}

type labels []string

func (l *labels) String() string     { return strings.Join(*l, ",") }
func (l *labels) Set(v string) error { *l = append(*l, v); return nil }

func session(args []string) error {
	fs := flag.NewFlagSet("session", flag.ContinueOnError)
	var lbls labels
	fs.Var(&lbls, "label", "session label (accepted for SDK compatibility)")
	version := fs.String("version", "", "client version")
	fs.String("workdir", "", "accepted for SDK compatibility")
	fs.String("project", "", "accepted for SDK compatibility")
	loadWS := fs.Bool("load-workspace-modules", false, "load workspace modules")
	if err := fs.Parse(args); err != nil {
		return err
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	// The SDK ends the session by closing our stdin.
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		l.Close()
	}()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	go func() { <-stop; l.Close() }()

	token := uuid.NewString()
	return withEngine(client.Params{SecretToken: token, Version: *version, LoadWorkspaceModules: *loadWS},
		func(ctx context.Context, sess *client.Client) error {
			out, err := json.Marshal(map[string]any{"port": l.Addr().(*net.TCPAddr).Port, "session_token": token})
			if err != nil {
				return err
			}
			if _, err := os.Stdout.Write(append(out, '\n')); err != nil {
				return err
			}
			srv := http.Server{Handler: sess, ReadHeaderTimeout: 30 * time.Second,
				BaseContext: func(net.Listener) context.Context { return ctx }}
			if err := srv.Serve(l); err != nil && !errors.Is(err, net.ErrClosed) {
				return err
			}
			return nil
		})
}

func run(args []string) (int, error) {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		return 0, errors.New("run: missing command, e.g. `dagger run python script.py`")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	token := uuid.NewString()
	code := 0
	err = withEngine(client.Params{SecretToken: token}, func(ctx context.Context, sess *client.Client) error {
		srv := http.Server{Handler: sess, ReadHeaderTimeout: 30 * time.Second,
			BaseContext: func(net.Listener) context.Context { return ctx }}
		go func() { _ = srv.Serve(l) }()
		defer srv.Close()

		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		cmd.Env = append(os.Environ(),
			"DAGGER_SESSION_PORT="+strconv.Itoa(l.Addr().(*net.TCPAddr).Port),
			"DAGGER_SESSION_TOKEN="+token)
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		defer signal.Stop(sig)
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("run: start %q: %w", args[0], err)
		}
		go func() {
			for s := range sig {
				_ = cmd.Process.Signal(s)
			}
		}()
		err := cmd.Wait()
		var exitErr *exec.ExitError
		switch {
		case errors.As(err, &exitErr):
			code = exitErr.ExitCode()
			return nil
		case err != nil:
			return err
		}
		return nil
	})
	return code, err
}

func withEngine(params client.Params, fn func(context.Context, *client.Client) error) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The engine streams telemetry per trace: a root span gives this session
	// one, and TRACEPARENT lets `run`'s child nest its own spans under it.
	tp := sdktrace.NewTracerProvider()
	defer func() { _ = tp.Shutdown(context.Background()) }()
	ctx, root := tp.Tracer("dagger").Start(ctx, "dagger "+os.Args[1])
	defer root.End()
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	if tp := carrier.Get("traceparent"); tp != "" {
		_ = os.Setenv("TRACEPARENT", tp)
	}
	params.RunnerHost = os.Getenv("_EXPERIMENTAL_DAGGER_RUNNER_HOST")
	if params.RunnerHost == "" {
		return errors.New("_EXPERIMENTAL_DAGGER_RUNNER_HOST is not set; source airgap/env.sh or point it at an engine (unix:///path/engine.sock)")
	}
	if os.Getenv("DAGGER_PROGRESS") != "quiet" {
		p := &plainProgress{w: os.Stderr, started: map[string]time.Time{}}
		params.EngineTrace = p
		params.EngineLogs = p
	}
	sess, err := client.Connect(ctx, params)
	if err != nil {
		return fmt.Errorf("connect to engine at %s: %w", params.RunnerHost, err)
	}
	ferr := fn(ctx, sess)
	cerr := sess.Close()
	if ferr != nil {
		return ferr
	}
	return cerr
}

// plainProgress prints finished, user-visible spans and the output of
// executed commands, one line each: enough to follow a long run in a CI log.
type plainProgress struct {
	mu      sync.Mutex
	w       io.Writer
	started map[string]time.Time
}

func visible(attrs []attribute.KeyValue) bool {
	for _, a := range attrs {
		switch string(a.Key) {
		case "dagger.io/ui.internal", "dagger.io/ui.passthrough", "dagger.io/ui.encapsulated":
			if a.Value.AsBool() {
				return false
			}
		}
	}
	return true
}

func (p *plainProgress) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range spans {
		// Spans arrive when they start too, with no end time yet.
		if !visible(s.Attributes()) || !s.EndTime().After(s.StartTime()) && s.EndTime() != s.StartTime() ||
			strings.HasPrefix(s.Name(), "remotes.") || strings.HasPrefix(s.Name(), "HTTP ") {
			continue
		}
		status := "DONE"
		if s.Status().Code == codes.Error {
			status = "ERROR"
		}
		for _, a := range s.Attributes() {
			if string(a.Key) == "dagger.io/dag.cached" && a.Value.AsBool() {
				status = "CACHED"
			}
		}
		fmt.Fprintf(p.w, "%-6s %s [%.1fs]\n", status, s.Name(), s.EndTime().Sub(s.StartTime()).Seconds())
	}
	return nil
}

func (p *plainProgress) Export(_ context.Context, records []sdklog.Record) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range records {
		body := strings.TrimRight(r.Body().AsString(), "\n")
		if body == "" {
			continue
		}
		for _, line := range strings.Split(body, "\n") {
			fmt.Fprintf(p.w, "  | %s\n", line)
		}
	}
	return nil
}

func (p *plainProgress) Shutdown(context.Context) error   { return nil }
func (p *plainProgress) ForceFlush(context.Context) error { return nil }
