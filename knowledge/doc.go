// Package knowledge loads FAQ articles, indexes them and finds the entry that
// best answers a visitor's question, with a confidence the bot can act on.
//
// Entries are Markdown files with YAML front matter (see docs/knowledge.md),
// or CSV/JSONL imports; ParseEntry, ReadCSV, ReadJSONL, Load and Lint read and
// check them. Open builds an Index over a knowledge directory (or the embedded
// Acme Shop starter set) with a Bleve index, in memory or persisted and reused
// when the files are unchanged; Index.Search finds candidates with Bleve and
// rescores them with BM25 over questions and answers plus synonyms;
// Index.Run re-indexes changed files until its context ends and reports broken
// files through Problems. Evaluate computes retrieval figures for kb eval.
// LearnReranker learns, from labelled question pairs, a re-ranker that Search
// then applies to its BM25 candidates (a translation model, a pair classifier
// and a dual encoder feeding a listwise linear ranker; kb eval --train-pairs).
//
// It is a leaf package: it imports only the standard library and third-party
// libraries (Bleve, yaml.v3, x/text), never other Frontdesk packages. It
// returns errors and does not log. No Bleve type appears in its exported API.
package knowledge
