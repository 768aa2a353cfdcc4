package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/frontdesk/frontdesk/bot"
	"github.com/frontdesk/frontdesk/knowledge"
)

// chatExplain is `frontdesk chat --explain`: the server never sends the
// bot's decision record to visitors, so this runs the same engine locally,
// in-process, on the same knowledge base, intents, policy and flows as
// `frontdesk serve` started with the same flags' environment variables
// (FRONTDESK_KB, FRONTDESK_BOT_CONFIG, ...; the built-in starter content by
// default), and prints each decision's reason and scores under the reply.
// Type /helpful or /unhelpful to answer "Was this helpful?".
func chatExplain(ctx context.Context, kbDir, say string, stdin io.Reader, stdout, stderr io.Writer) error {
	env := newEnvVars(os.Getenv)
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	b := botFlags(fs, env)
	threshold := env.float("bot-answer-threshold", 0.5)
	if errs := append(env.problems(fs), b.validate()...); len(errs) > 0 {
		return errors.Join(errs...)
	}
	kb, err := knowledge.Open(ctx, knowledge.Config{Dir: kbDir})
	if err != nil {
		return err
	}
	defer kb.Close()
	p, err := loadBotParts(ctx, b, threshold)
	if err != nil {
		return err
	}
	opts := []bot.Option{bot.WithIntents(p.nlu), bot.WithFlows(p.flows, p.hook)}
	if p.gen != nil {
		opts = append(opts, bot.WithGenerator(p.gen))
	}
	e, err := bot.New(kb, p.cfg, opts...)
	if err != nil {
		return err
	}
	const conv = "local-explain"
	handle := func(line string) error {
		var d bot.Decision
		var err error
		switch strings.TrimSpace(line) {
		case "/helpful", "/unhelpful":
			d, err = e.Feedback(ctx, conv, strings.TrimSpace(line) == "/helpful")
		default:
			d, err = e.Turn(ctx, bot.Input{ConversationID: conv, Text: line})
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "bot: %s\n", d.Reply)
		if len(d.QuickReplies) > 0 {
			fmt.Fprintf(stdout, "   [%s]\n", strings.Join(d.QuickReplies, "] ["))
		}
		fmt.Fprintf(stdout, "   why: %s\n", bot.Explain(d))
		return nil
	}
	if say != "" {
		return handle(say)
	}
	fmt.Fprintln(stderr, "explaining locally (in-process engine, no server); /helpful or /unhelpful rate the last answer")
	sc := bufio.NewScanner(stdin)
	for sc.Scan() {
		if ctx.Err() != nil {
			return nil
		}
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		if err := handle(sc.Text()); err != nil {
			return err
		}
	}
	return sc.Err()
}
