package a2a

import (
	"encoding/json"
	"fmt"
	"strings"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/sovereign-stack/sovereign/a2a/a2apb"
	"github.com/sovereign-stack/sovereign/ids"
)

// TextPart is a text part (media type text/plain unless the card's modes say otherwise).
func TextPart(text string) *a2apb.Part {
	return &a2apb.Part{Content: &a2apb.Part_Text{Text: text}}
}

// FilePart is a file given by its bytes, with its media type and (optional) file name.
func FilePart(data []byte, mediaType, filename string) *a2apb.Part {
	return &a2apb.Part{Content: &a2apb.Part_Raw{Raw: data}, MediaType: mediaType, Filename: filename}
}

// FileURLPart is a file given by its URL, with its media type and (optional) file name.
func FileURLPart(url, mediaType, filename string) *a2apb.Part {
	return &a2apb.Part{Content: &a2apb.Part_Url{Url: url}, MediaType: mediaType, Filename: filename}
}

// DataPart is structured data: v is any Go value encoding/json can encode (a struct, a map, a
// slice …), carried as a google.protobuf.Value with media type application/json.
func DataPart(v any) (*a2apb.Part, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("a2a: DataPart: %w", err)
	}
	val := &structpb.Value{}
	if err := val.UnmarshalJSON(b); err != nil {
		return nil, fmt.Errorf("a2a: DataPart: %w", err)
	}
	return &a2apb.Part{Content: &a2apb.Part_Data{Data: val}, MediaType: "application/json"}, nil
}

// DecodeData decodes a data part into v (a pointer, as for encoding/json); a part that is not
// data is an error.
func DecodeData(p *a2apb.Part, v any) error {
	d := p.GetData()
	if d == nil {
		return fmt.Errorf("a2a: part is not a data part")
	}
	b, err := d.MarshalJSON()
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// NewMessage is a message of role with parts and a new message id.
func NewMessage(role a2apb.Role, parts ...*a2apb.Part) *a2apb.Message {
	return &a2apb.Message{MessageId: ids.New("msg"), Role: role, Parts: parts}
}

// NewUserMessage is a client's message: NewMessage(ROLE_USER, parts...).
func NewUserMessage(parts ...*a2apb.Part) *a2apb.Message {
	return NewMessage(a2apb.Role_ROLE_USER, parts...)
}

// NewAgentMessage is an agent's message: NewMessage(ROLE_AGENT, parts...).
func NewAgentMessage(parts ...*a2apb.Part) *a2apb.Message {
	return NewMessage(a2apb.Role_ROLE_AGENT, parts...)
}

// NewArtifact is an artifact named name with parts and a new artifact id.
func NewArtifact(name string, parts ...*a2apb.Part) *a2apb.Artifact {
	return &a2apb.Artifact{ArtifactId: ids.New("art"), Name: name, Parts: parts}
}

// MessageText is the text of m's text parts, joined by newlines: what an executor usually
// reads of the client's message.
func MessageText(m *a2apb.Message) string {
	var b []string
	for _, p := range m.GetParts() {
		if t, ok := p.GetContent().(*a2apb.Part_Text); ok {
			b = append(b, t.Text)
		}
	}
	return strings.Join(b, "\n")
}
