package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/parley-comments/parley/api"
	"github.com/parley-comments/parley/buildinfo"
)

// command is one `parley WORDS...` command. Adding one is one entry in
// commands and its run function.
type command struct {
	name    string // the words that select it, e.g. "user create"
	args    string // its arguments, for the usage line
	summary string
	run     func(c *cli, args []string) error
}

// commands is every command; with no arguments Parley serves.
var commands = []command{
	{"serve", "", "serve the API, the widget and the moderation page (the default)", runServe},
	{"migrate", "", "apply pending migrations and exit", runMigrate},
	{"backup", "FILE", "write a consistent copy of the SQLite database to FILE", runBackup},
	{"version", "", "print the version and the VCS revision of this build", runVersion},
	{"healthcheck", "", "exit 0 if the server at PARLEY_ADDR answers /readyz (for container health checks)", runHealthcheck},
	{"admin reset-password", "USERNAME", "give USERNAME a new one-time password and end all their logins", runResetPassword},
	{"user create", "--role user|moderator|admin USERNAME", "create an account and print its one-time password", runCreateUser},
	{"import", "--format disqus|wordpress|commento|remark42|isso|parley --site SITE [--dry-run] [--map RULES] FILE", "import comments from another system or a Parley export", runImport},
	{"export", "[--site SITE] FILE", "write every thread, comment, account (no passwords), vote, flag and log entry as JSON Lines", runExport},
}

// Exit statuses, as the operator's scripts see them.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// usageError is a command line the command cannot make sense of (exit 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// cli is what a command runs with: the environment and where to write. A
// command's summary goes to stdout; logs and errors go to stderr.
type cli struct {
	getenv         func(string) string
	stdout, stderr io.Writer
}

// config parses the PARLEY_* environment; commands that need none (version,
// help) never call it, so a broken setting does not hide them.
func (c *cli) config() (config, *slog.Logger, error) {
	cfg, err := loadConfig(c.getenv)
	if err != nil {
		return cfg, nil, err
	}
	return cfg, newLogger(cfg.LogLevel, c.stderr), nil
}

// run executes the command args name and returns the exit status.
func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	c := &cli{getenv: getenv, stdout: stdout, stderr: stderr}
	cmd, rest := findCommand(args)
	var err error
	switch {
	case len(args) == 1 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help"):
		printHelp(c.stdout)
	case cmd == nil:
		err = usagef("unknown command %q; try: parley help", strings.Join(args, " "))
	default:
		err = cmd.run(c, rest)
	}
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "parley:", err)
	var usage *usageError
	if errors.As(err, &usage) {
		if cmd != nil {
			fmt.Fprintf(stderr, "usage: parley %s %s\n", cmd.name, cmd.args)
		}
		return exitUsage
	}
	return exitFailure
}

// findCommand picks the command whose words start args, the longest match
// winning; no args at all means serve.
func findCommand(args []string) (*command, []string) {
	if len(args) == 0 {
		args = []string{"serve"}
	}
	var best *command
	var rest []string
	for i := range commands {
		words := strings.Fields(commands[i].name)
		if len(words) > len(args) || strings.Join(words, " ") != strings.Join(args[:len(words)], " ") {
			continue
		}
		if best == nil || len(words) > len(strings.Fields(best.name)) {
			best, rest = &commands[i], args[len(words):]
		}
	}
	return best, rest
}

// parseArgs parses flags into fs wherever they stand among the positional
// arguments (`user create alice --role admin` works too) and returns the
// positional ones, which must number exactly want.
func parseArgs(fs *flag.FlagSet, args []string, want int) ([]string, error) {
	fs.SetOutput(io.Discard)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usagef("%v", err)
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(positional) != want {
		return nil, usagef("want %d argument(s), got %d", want, len(positional))
	}
	return positional, nil
}

func newLogger(level string, w io.Writer) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(api.RequestIDLogs(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})))
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "usage: parley [COMMAND]   (PARLEY_* environment variables configure it; see the README)")
	for _, cmd := range commands {
		fmt.Fprintf(w, "  %-50s %s\n", strings.TrimSpace(cmd.name+" "+cmd.args), cmd.summary)
	}
	fmt.Fprintf(w, "  %-50s %s\n", "help", "list the commands")
}

func runServe(c *cli, args []string) error {
	if len(args) > 0 {
		return usagef("serve takes no arguments")
	}
	cfg, log, err := c.config()
	if err != nil {
		return err
	}
	return serve(cfg, log)
}

func runMigrate(c *cli, args []string) error {
	if len(args) > 0 {
		return usagef("migrate takes no arguments")
	}
	cfg, log, err := c.config()
	if err != nil {
		return err
	}
	return migrate(cfg, log)
}

func runBackup(c *cli, args []string) error {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		return usagef("backup takes one FILE to write")
	}
	cfg, log, err := c.config()
	if err != nil {
		return err
	}
	return backup(cfg, log, args[0])
}

func runVersion(c *cli, args []string) error {
	if len(args) > 0 {
		return usagef("version takes no arguments")
	}
	fmt.Fprintln(c.stdout, buildinfo.Get())
	return nil
}
