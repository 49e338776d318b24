package messages_test

import (
	"testing"

	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/google/go-cmp/cmp"
)

// TestRoundTripEveryMessage sends every message type of package superbot.v1
// through protoactor's remote serializer (the path a message takes between
// nodes), with every field populated.
func TestRoundTripEveryMessage(t *testing.T) {
	n := 0
	protoregistry.GlobalTypes.RangeMessages(func(mt protoreflect.MessageType) bool {
		desc := mt.Descriptor()
		if desc.ParentFile().Package() != "superbot.v1" {
			return true
		}
		n++
		msg := mt.New()
		populate(msg, 0)
		t.Run(string(desc.Name()), func(t *testing.T) {
			data, typeName, err := remote.Serialize(msg.Interface(), 0)
			if err != nil {
				t.Fatalf("serialize: %v", err)
			}
			if typeName != string(desc.FullName()) {
				t.Fatalf("type name = %q, want %q", typeName, desc.FullName())
			}
			back, err := remote.Deserialize(data, typeName, 0)
			if err != nil {
				t.Fatalf("deserialize: %v", err)
			}
			if diff := cmp.Diff(msg.Interface(), back.(proto.Message), protocmp.Transform()); diff != "" {
				t.Fatalf("round trip changed the message (-want +got):\n%s", diff)
			}
		})
		return true
	})
	if n < 30 {
		t.Fatalf("only %d superbot.v1 messages registered; the registry walk is broken", n)
	}
}

// populate sets every scalar, enum, repeated and nested message field of m to
// a non-zero value, down to a small depth.
func populate(m protoreflect.Message, depth int) {
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if fd.ContainingOneof() != nil && i > 0 && fields.Get(i-1).ContainingOneof() == fd.ContainingOneof() {
			continue
		}
		switch {
		case fd.IsMap():
			continue
		case fd.IsList():
			if fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind {
				if depth < 2 {
					populate(m.Mutable(fd).List().AppendMutable().Message(), depth+1)
				}
				continue
			}
			m.Mutable(fd).List().Append(scalar(fd))
		case fd.Kind() == protoreflect.MessageKind:
			if depth < 2 && fd.Message().FullName() != "google.protobuf.Any" && fd.Message().FullName() != "google.protobuf.Value" {
				populate(m.Mutable(fd).Message(), depth+1)
			}
		default:
			m.Set(fd, scalar(fd))
		}
	}
}

func scalar(fd protoreflect.FieldDescriptor) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(true)
	case protoreflect.EnumKind:
		vals := fd.Enum().Values()
		return protoreflect.ValueOfEnum(vals.Get(vals.Len() - 1).Number())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(-7)
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(-1 << 40)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(7)
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(1 << 40)
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(1.5)
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(2.25)
	case protoreflect.StringKind:
		return protoreflect.ValueOfString("x." + string(fd.Name()))
	case protoreflect.BytesKind:
		return protoreflect.ValueOfBytes([]byte{1, 2, 3})
	}
	panic("unhandled kind " + fd.Kind().String())
}
