package bus

import (
	"fmt"
	"strings"
)

// maxTopicLen bounds topics and patterns, in bytes.
const maxTopicLen = 256

// ValidateTopic checks a topic that is published to: dot-separated, non-empty
// segments of letters, digits, '_', '-', ':' or '@'; no wildcards.
func ValidateTopic(topic string) error {
	if err := validate(topic, false); err != nil {
		return fmt.Errorf("topic %q: %w", topic, err)
	}
	return nil
}

// ValidatePattern checks a subscription pattern: a topic whose segments may
// also be "*" (one segment) or, as the last segment only, ">" (one or more
// remaining segments).
func ValidatePattern(pattern string) error {
	if err := validate(pattern, true); err != nil {
		return fmt.Errorf("pattern %q: %w", pattern, err)
	}
	return nil
}

func validate(s string, wildcards bool) error {
	if s == "" {
		return ErrEmptyTopic
	}
	if len(s) > maxTopicLen {
		return fmt.Errorf("%w: longer than %d bytes", ErrBadTopic, maxTopicLen)
	}
	segs := strings.Split(s, ".")
	for i, seg := range segs {
		switch seg {
		case "":
			return fmt.Errorf("%w: empty segment", ErrBadTopic)
		case "*", ">":
			if !wildcards {
				return ErrPublishToPattern
			}
			if seg == ">" && i != len(segs)-1 {
				return fmt.Errorf("%w: '>' must be the last segment", ErrBadTopic)
			}
		default:
			for _, r := range seg {
				if !validRune(r) {
					return fmt.Errorf("%w: character %q", ErrBadTopic, r)
				}
			}
		}
	}
	return nil
}

func validRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		r == '_' || r == '-' || r == ':' || r == '@'
}

// Match reports whether topic matches pattern. Both are assumed valid.
func Match(pattern, topic string) bool {
	for {
		pseg, prest, pmore := strings.Cut(pattern, ".")
		tseg, trest, tmore := strings.Cut(topic, ".")
		switch {
		case pseg == ">":
			return true
		case pseg != "*" && pseg != tseg:
			return false
		case !pmore || !tmore:
			return pmore == tmore
		}
		pattern, topic = prest, trest
	}
}
