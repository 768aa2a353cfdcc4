// Package intents normalises utterances, trains and runs the intent classifier
// with calibrated confidence and out-of-scope detection, and computes its
// evaluation metrics.
//
// Training data is a Dataset (read with ReadFile from the Frontdesk YAML format,
// Rasa nlu.yml, JSONL, CSV or the CLINC150 JSON layout). Train fits a
// multinomial logistic regression on word and character n-grams, calibrates its
// confidence and chooses the out-of-scope threshold by cross-validation;
// Model.Predict returns a Prediction. Starter trains the embedded bilingual
// starter set of the demo company. An optional Embedder adds sentence
// embeddings from an OpenAI-compatible endpoint as extra features.
//
// It is a leaf package: it imports only the standard library and third-party
// libraries, never other Frontdesk packages. It returns errors and does not log.
package intents
