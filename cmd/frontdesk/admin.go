package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/handoff"
)

// runAdmin manages agents directly in the data directory's store (the
// server may be running: SQLite serialises the writes).
func runAdmin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return adminWithInput(ctx, args, osStdin(), stdout, stderr)
}

// adminUsage lists every admin subcommand.
const adminUsage = `usage: frontdesk admin <command> [flags]
  create-agent  --email E --name N [--role agent|admin|editor] [--groups g1,g2] [--capacity N] [--password-stdin]
  set-password  --email E [--password-stdin]
  list-agents
  create-token  --email ADMIN [--days 90]
  identity-key  add|rotate|list|remove [--site KEY] [--kid KID]
every command also takes serve's --data-dir (or --database-url and --master-key);
run 'frontdesk admin <command> -h' for its flags`

func adminWithInput(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprintln(stderr, adminUsage)
		return nil
	}
	if len(args) == 0 {
		fmt.Fprintln(stderr, adminUsage)
		return exitError{code: 2, msg: "missing admin command"}
	}
	if args[0] == "identity-key" {
		return runIdentityKeys(ctx, args[1:], stdout, stderr)
	}
	sub, rest := args[0], args[1:]
	fs := flag.NewFlagSet("admin "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, finish := serverFlags(fs, os.Getenv)
	var email, name, groups, role string
	var capacity int
	var passwordStdin bool
	switch sub {
	case "create-agent":
		fs.StringVar(&email, "email", "", "the agent's e-mail (their sign-in)")
		fs.StringVar(&name, "name", "", "the agent's name as visitors see it")
		fs.StringVar(&groups, "groups", "default_support", "comma-separated skill groups")
		fs.StringVar(&role, "role", "agent", "admin, agent or editor")
		fs.IntVar(&capacity, "capacity", 0, "concurrent conversations, 1-100 (0 or unset: 3 for agents and admins; editors, who take no conversations, keep 0)")
		fs.BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of stdin (otherwise one is generated and printed)")
	case "set-password":
		fs.StringVar(&email, "email", "", "the agent's e-mail")
		fs.BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of stdin (otherwise one is generated and printed)")
	case "list-agents":
	case "create-token":
		fs.StringVar(&email, "email", "", "the admin the token acts as")
		fs.IntVar(&capacity, "days", 90, "lifetime in days (1-730)")
	default:
		return fmt.Errorf("unknown admin command %q (want create-agent, set-password, list-agents, create-token or identity-key; see frontdesk admin -h)", sub)
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	finish()
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	switch {
	case sub == "create-agent" && (email == "" || name == ""):
		return errors.New("--email and --name are required")
	case (sub == "set-password" || sub == "create-token") && email == "":
		return errors.New("--email is required")
	}
	store, err := openExistingStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := seedHandoff(ctx, store, cfg, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		return err
	}
	accounts := handoff.NewAccounts(store, cfg.SessionTTL, 0)
	readPassword := func() (string, bool, error) {
		if !passwordStdin {
			p, err := randomPassword()
			return p, true, err
		}
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", false, err
		}
		return strings.TrimRight(line, "\r\n"), false, nil
	}
	switch sub {
	case "create-agent":
		pw, generated, err := readPassword()
		if err != nil {
			return err
		}
		a, err := accounts.CreateAgent(ctx, handoff.NewAgent{Email: email, Name: name, Password: pw, Role: data.Role(role),
			Groups: splitList(groups), Capacity: capacity})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created %s %s (%s) in %s\n", a.Role, a.Email, a.ID, strings.Join(a.Groups, ", "))
		if generated {
			fmt.Fprintf(stdout, "password: %s\n", pw)
		}
	case "set-password":
		a, err := store.AgentByEmail(ctx, email)
		if err != nil {
			return fmt.Errorf("agent %q: %w", email, err)
		}
		pw, generated, err := readPassword()
		if err != nil {
			return err
		}
		if err := accounts.SetPassword(ctx, a.ID, pw); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "password of %s changed\n", a.Email)
		if generated {
			fmt.Fprintf(stdout, "password: %s\n", pw)
		}
	case "create-token":
		a, err := store.AgentByEmail(ctx, email)
		if err != nil {
			return fmt.Errorf("agent %q: %w", email, err)
		}
		if a.Role != data.RoleAdmin {
			return fmt.Errorf("%s is not an admin; API tokens act as an admin", a.Email)
		}
		sess, err := accounts.CreateToken(ctx, a.ID, time.Duration(capacity)*24*time.Hour)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "token (shown once, send as Authorization: Bearer <token>): %s\nexpires: %s\n", sess.Token, sess.ExpiresAt.Format(time.RFC3339))
	case "list-agents":
		agents, err := store.ListAgents(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tE-MAIL\tNAME\tROLE\tGROUPS\tCAPACITY\tDISABLED")
		for _, a := range agents {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%v\n", a.ID, a.Email, a.Name, a.Role, strings.Join(a.Groups, ","), a.Capacity, a.Disabled)
		}
		return w.Flush()
	}
	return nil
}
