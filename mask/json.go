package mask

import "encoding/json"

// PartialJSON masks the personal data in every string of a JSON document
// (Partial), keeping its structure. A document that does not parse comes
// back as nil rather than unmasked.
func PartialJSON(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return raw
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil
	}
	out, err := json.Marshal(partialValue(v))
	if err != nil {
		return nil
	}
	return out
}

func partialValue(v any) any {
	switch x := v.(type) {
	case string:
		return Partial(x)
	case []any:
		for i := range x {
			x[i] = partialValue(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = partialValue(x[k])
		}
	}
	return v
}
