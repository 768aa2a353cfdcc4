package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/frontdesk/frontdesk/intents"
)

// runIntents trains, evaluates and tries the intent classifier.
func runIntents(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	usage := func() {
		fmt.Fprintln(stderr, "usage: frontdesk intents <train|predict|eval> [flags]")
		fmt.Fprintln(stderr, "  train   --data PATH --out MODEL          train a model and save it")
		fmt.Fprintln(stderr, "  predict [--model MODEL] TEXT...          classify texts (the starter model without --model)")
		fmt.Fprintln(stderr, "  eval    --train PATH [--val PATH] [--test PATH] [--holdout FRAC]")
		fmt.Fprintln(stderr, "                                           train, choose the threshold, print metrics as JSON")
	}
	if len(args) == 0 {
		usage()
		return errors.New("missing subcommand")
	}
	switch args[0] {
	case "train":
		return intentsTrain(ctx, args[1:], stdout, stderr)
	case "predict":
		return intentsPredict(ctx, args[1:], stdout, stderr)
	case "eval":
		return intentsEval(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		usage()
		return nil
	}
	usage()
	return fmt.Errorf("unknown subcommand %q", args[0])
}

// intentsParseFlags parses flags wherever they stand (parseInterspersed)
// and returns the positional arguments; stop is set after -h (err nil) or
// on an error.
func intentsParseFlags(fs *flag.FlagSet, args []string) (pos []string, stop bool, err error) {
	pos, err = parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, true, nil
		}
		return nil, true, err
	}
	return pos, false, nil
}

// noArgs refuses positional arguments of a command that takes flags only.
func noArgs(cmd string, pos []string) error {
	if len(pos) > 0 {
		return fmt.Errorf("%s: unexpected arguments %q (flags only)", cmd, pos)
	}
	return nil
}

func intentsTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("intents train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "", "training data: a .yaml/.yml (Frontdesk or Rasa nlu.yml), .jsonl, .csv or CLINC150 .json file, or a directory of .yaml files")
	out := fs.String("out", "", "where to write the model")
	seed := fs.Uint64("seed", 1, "random seed")
	pos, stop, err := intentsParseFlags(fs, args)
	if stop {
		return err
	}
	if err := noArgs("train", pos); err != nil {
		return err
	}
	if *data == "" || *out == "" {
		fs.Usage()
		return errors.New("train: --data and --out are required")
	}
	ds, err := intents.ReadFile(ctx, *data)
	if err != nil {
		return err
	}
	start := time.Now()
	m, err := intents.Train(ctx, ds, intents.Options{Seed: *seed})
	if err != nil {
		return err
	}
	took := time.Since(start)
	if err := m.SaveFile(*out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "trained %d intents on %d examples in %.1fs (features %d, temperature %.3f, threshold %.3f); wrote %s\n",
		len(m.Intents()), ds.Len(), took.Seconds(), m.Features(), m.Temperature(), m.Threshold(), *out)
	return nil
}

func intentsPredict(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("intents predict", flag.ContinueOnError)
	fs.SetOutput(stderr)
	model := fs.String("model", "", "model file written by 'intents train' (default: the embedded starter model)")
	texts, stop, err := intentsParseFlags(fs, args)
	if stop {
		return err
	}
	if len(texts) == 0 {
		fs.Usage()
		return errors.New("predict: give at least one text")
	}
	var m *intents.Model
	if *model == "" {
		m, err = intents.Starter(ctx)
	} else {
		m, err = intents.LoadFile(*model)
	}
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	for _, text := range texts {
		p, err := m.PredictContext(ctx, text)
		if err != nil {
			return err
		}
		if err := enc.Encode(struct {
			Text string `json:"text"`
			intents.Prediction
		}{text, p}); err != nil {
			return err
		}
	}
	return nil
}

// evalReport is the JSON object printed by 'intents eval'.
type evalReport struct {
	intents.Metrics
	TrainSeconds  float64 `json:"train_seconds"`
	TrainExamples int     `json:"train_examples"`
	Intents       int     `json:"intents"`
	Features      int     `json:"features"`
	Temperature   float64 `json:"temperature"`
	ReportedOn    string  `json:"reported_on"`
	ThresholdFrom string  `json:"threshold_from"`
}

func intentsEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("intents eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	trainPath := fs.String("train", "", "training data (any format 'intents train' reads); a CLINC150 .json also supplies val/test")
	valPath := fs.String("val", "", "validation data to choose the out-of-scope threshold on (default: cross-validation on train)")
	testPath := fs.String("test", "", "data to report on (default: the CLINC150 test part, else val, else --holdout)")
	holdout := fs.Float64("holdout", 0, "when there is no test or val data, report on this stratified fraction of train")
	seed := fs.Uint64("seed", 1, "random seed (training and --holdout split)")
	pos, stop, err := intentsParseFlags(fs, args)
	if stop {
		return err
	}
	if err := noArgs("eval", pos); err != nil {
		return err
	}
	if *trainPath == "" {
		fs.Usage()
		return errors.New("eval: --train is required")
	}
	holdoutGiven := false
	fs.Visit(func(f *flag.Flag) { holdoutGiven = holdoutGiven || f.Name == "holdout" })
	if holdoutGiven && (*holdout <= 0 || *holdout >= 1) {
		return fmt.Errorf("eval: --holdout %v: --holdout must be between 0 and 1 (exclusive)", *holdout)
	}
	var train, val, test intents.Dataset
	var valName, testName string
	if strings.EqualFold(filepath.Ext(*trainPath), ".json") {
		f, err := os.Open(*trainPath)
		if err != nil {
			return err
		}
		c, err := intents.ParseCLINC150(f)
		f.Close()
		if err != nil {
			return err
		}
		train = c.Train
		if c.Val.Len() > 0 {
			val, valName = c.Val, "val+oos_val of "+*trainPath
		}
		if c.Test.Len() > 0 {
			test, testName = c.Test, "test+oos_test of "+*trainPath
		}
	} else {
		d, err := intents.ReadFile(ctx, *trainPath)
		if err != nil {
			return err
		}
		train = d
	}
	if *valPath != "" {
		d, err := intents.ReadFile(ctx, *valPath)
		if err != nil {
			return err
		}
		val, valName = d, *valPath
	}
	if *testPath != "" {
		d, err := intents.ReadFile(ctx, *testPath)
		if err != nil {
			return err
		}
		test, testName = d, *testPath
	}
	opts := intents.Options{Seed: *seed}
	thresholdFrom := "cross-validation on train"
	switch {
	case test.Len() > 0 && val.Len() > 0:
		opts.Validation = val
		thresholdFrom = valName
	case test.Len() > 0:
	case val.Len() > 0:
		// No test part: report on val, and choose the threshold without it.
		test, testName = val, valName
	case *holdout > 0 && *holdout < 1:
		train, test = intents.StratifiedSplit(train, *holdout, *seed)
		testName = fmt.Sprintf("stratified %.0f%% of %s (seed %d)", *holdout*100, *trainPath, *seed)
	default:
		return errors.New("eval: nothing to report on: give --test, --val or --holdout")
	}
	start := time.Now()
	m, err := intents.Train(ctx, train, opts)
	if err != nil {
		return err
	}
	took := time.Since(start)
	met, err := intents.Evaluate(ctx, m, test)
	if err != nil {
		return err
	}
	rep := evalReport{Metrics: met, TrainSeconds: took.Seconds(), TrainExamples: train.Len(), Intents: len(m.Intents()),
		Features: m.Features(), Temperature: m.Temperature(), ReportedOn: testName, ThresholdFrom: thresholdFrom}
	enc := json.NewEncoder(stdout)
	return enc.Encode(rep)
}
