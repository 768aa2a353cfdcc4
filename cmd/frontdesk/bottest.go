package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/frontdesk/frontdesk/bot"
	"github.com/frontdesk/frontdesk/knowledge"
)

// runBot dispatches `frontdesk bot <subcommand>`.
func runBot(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprintln(stderr, "usage: frontdesk bot test [flags] [STORIES.yaml ...]")
		return nil
	}
	if len(args) == 0 || args[0] != "test" {
		fmt.Fprintln(stderr, "usage: frontdesk bot test [flags] [STORIES.yaml ...]")
		return fmt.Errorf("unknown or missing subcommand (want: test)")
	}
	return runBotTest(ctx, args[1:], stdout, stderr)
}

// runBotTest runs conversation test stories against a bot built in-process
// from the knowledge base, intents, policy and flows (the built-in starter
// content by default) and fails when any story fails.
func runBotTest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bot test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kbDir := fs.String("kb", os.Getenv(envPrefix+"KB"), "knowledge directory (default: the built-in demo set)")
	verbose := fs.Bool("v", false, "print every step with its decision, not only failures")
	jsonOut := fs.Bool("json", false, "print the results as JSON")
	env := newEnvVars(os.Getenv)
	b := botFlags(fs, env)
	threshold := fs.Float64("bot-answer-threshold", env.float("bot-answer-threshold", 0.5), "knowledge confidence at or above which the bot answers")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: frontdesk bot test [flags] [STORIES.yaml ...]")
		fmt.Fprintln(stderr, "Runs conversation test stories (docs/bot.md); without files, the built-in starter stories.")
		fs.PrintDefaults()
	}
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if errs := append(env.problems(fs), b.validate()...); len(errs) > 0 {
		return errors.Join(errs...)
	}
	var stories []bot.Story
	if len(files) == 0 {
		s, err := bot.StarterStories()
		if err != nil {
			return err
		}
		stories = s
	}
	for _, f := range files {
		s, err := bot.ReadStoriesFile(f)
		if err != nil {
			return err
		}
		stories = append(stories, s...)
	}
	kb, err := knowledge.Open(ctx, knowledge.Config{Dir: *kbDir})
	if err != nil {
		return err
	}
	defer kb.Close()
	p, err := loadBotParts(ctx, b, *threshold)
	if err != nil {
		return err
	}
	results := bot.RunStories(ctx, bot.StoryEnv{KB: kb, Intents: p.nlu, Config: p.cfg, Flows: p.flows, Webhook: p.hook, Generator: p.gen}, stories)
	failed := 0
	if *jsonOut {
		enc := json.NewEncoder(stdout)
		for _, r := range results {
			if !r.Passed {
				failed++
			}
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
	} else {
		_, failed = bot.WriteReport(stdout, results, *verbose)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d stories failed", failed, len(results))
	}
	return nil
}
