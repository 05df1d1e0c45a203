package telegramtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// maxRequestBytes bounds a request body: Telegram accepts uploads of up to
// 50 MB through the Bot API.
const maxRequestBytes = 50 << 20

// methodSpec and paramSpec are the shapes of the generated tables.
type methodSpec struct {
	Name    string
	Returns []string
	Params  []paramSpec
}

type paramSpec struct {
	Name     string
	Types    []string
	Required bool
	Const    string // the value a discriminator field must have, or ""
}

type typeSpec struct {
	Fields   []paramSpec
	Subtypes []string
}

// upload is a file part of a multipart request.
type upload struct {
	name string
	mime string
	data []byte
}

// arg is one request parameter as it arrived: a raw JSON value when the body
// was JSON, text when it was a form, or an uploaded file.
type arg struct {
	raw  json.RawMessage
	text string
	file *upload
}

// args holds the parameters of one request.
type args map[string]arg

// parseArgs reads the query string and the body of r, whatever its encoding.
func parseArgs(r *http.Request) (args, *apiError) {
	a := args{}
	for k, vs := range r.URL.Query() {
		if len(vs) > 0 {
			a[k] = arg{text: vs[0]}
		}
	}
	if r.Body == nil || r.Method == http.MethodGet {
		return a, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxRequestBytes))
	if err != nil {
		return nil, bodyError(err)
	}
	if len(body) == 0 {
		// A client with no parameters may send an empty body of any type.
		return a, nil
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	ct, ctParams, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		if len(bytes.TrimSpace(body)) == 0 {
			return a, nil
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, badRequest("can't parse JSON object")
		}
		for k, v := range m {
			a[k] = arg{raw: v}
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return nil, bodyError(err)
		}
		for k, vs := range r.PostForm {
			if len(vs) > 0 {
				a[k] = arg{text: vs[0]}
			}
		}
	case "multipart/form-data":
		if ctParams["boundary"] == "" {
			return nil, badRequest("can't parse multipart form")
		}
		if err := r.ParseMultipartForm(maxRequestBytes); err != nil {
			return nil, bodyError(err)
		}
		for k, vs := range r.MultipartForm.Value {
			if len(vs) > 0 {
				a[k] = arg{text: vs[0]}
			}
		}
		for k, fhs := range r.MultipartForm.File {
			if len(fhs) == 0 {
				continue
			}
			fh := fhs[0]
			f, err := fh.Open()
			if err != nil {
				return nil, bodyError(err)
			}
			data, err := io.ReadAll(f)
			f.Close()
			if err != nil {
				return nil, bodyError(err)
			}
			a[k] = arg{file: &upload{name: fh.Filename, mime: fh.Header.Get("Content-Type"), data: data}}
		}
	case "":
		// Telegram treats a body without a content type as empty.
	default:
		return nil, badRequest("unsupported Content-Type " + ct)
	}
	return a, nil
}

func bodyError(err error) *apiError {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &apiError{Code: http.StatusRequestEntityTooLarge, Description: "Request Entity Too Large"}
	}
	return badRequest("can't read request body")
}

func (a args) has(name string) bool {
	v, ok := a[name]
	if !ok {
		return false
	}
	if v.raw != nil {
		return string(v.raw) != "null"
	}
	return true
}

// str returns a parameter as text. JSON strings are unquoted; other JSON
// values are returned as written.
func (a args) str(name string) string {
	v, ok := a[name]
	if !ok {
		return ""
	}
	if v.raw != nil {
		var s string
		if json.Unmarshal(v.raw, &s) == nil {
			return s
		}
		if string(v.raw) == "null" {
			return ""
		}
		return string(v.raw)
	}
	return v.text
}

// int returns an integer parameter; the second result is false when it is
// absent or not an integer.
func (a args) int(name string) (int64, bool) {
	if !a.has(name) {
		return 0, false
	}
	return parseInt(a.str(name))
}

func parseInt(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	// JSON numbers such as 5.0 or 1e3 are integers too.
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<62 {
		return 0, false
	}
	return int64(f), true
}

func (a args) bool(name string) bool {
	b, _ := parseBool(a.str(name))
	return b
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1":
		return true, true
	case "false", "0", "":
		return false, true
	}
	return false, false
}

// json returns the JSON text of an object or array parameter, whether it
// came as a JSON value, as a JSON string holding JSON, or as form text.
func (a args) json(name string) []byte {
	v, ok := a[name]
	if !ok {
		return nil
	}
	if v.raw != nil {
		var s string
		if json.Unmarshal(v.raw, &s) == nil {
			return []byte(s)
		}
		return v.raw
	}
	return []byte(v.text)
}

// decode unmarshals an object or array parameter into dst.
func (a args) decode(name string, dst any) error {
	return json.Unmarshal(a.json(name), dst)
}

// validate checks a against the generated specification of a method. It
// returns the error Telegram gives for the first problem found.
func validate(spec methodSpec, a args) *apiError {
	for _, p := range spec.Params {
		if !a.has(p.Name) {
			if p.Required {
				return missingParam(spec.Name, p.Name)
			}
			continue
		}
		if !argMatches(a, p) {
			return wrongType(p)
		}
	}
	return nil
}

// argMatches reports whether the parameter fits one of its declared types.
func argMatches(a args, p paramSpec) bool {
	v := a[p.Name]
	for _, t := range p.Types {
		if t == "InputFile" {
			if v.file != nil {
				return true
			}
			continue
		}
		if v.file != nil {
			continue
		}
		if topLevelMatches(a, p.Name, v, t) {
			return true
		}
	}
	return false
}

func topLevelMatches(a args, name string, v arg, t string) bool {
	switch t {
	case "Integer":
		_, ok := parseInt(a.str(name))
		return ok
	case "Float":
		_, err := strconv.ParseFloat(strings.TrimSpace(a.str(name)), 64)
		return err == nil
	case "Boolean", "True":
		_, ok := parseBool(a.str(name))
		return ok
	case "String":
		if v.raw != nil {
			// raw is one valid JSON value (the body was decoded as an
			// object): its first byte tells a string, number or boolean,
			// which Telegram takes as text, from an object, array or null.
			raw := bytes.TrimLeft(v.raw, " \t\r\n")
			return len(raw) > 0 && (raw[0] == '"' || raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9' || raw[0] == 't' || raw[0] == 'f')
		}
		return true
	}
	dec := json.NewDecoder(bytes.NewReader(a.json(name)))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return false
	}
	return valueMatches(x, t, 0)
}

// valueMatches checks a decoded JSON value against a specification type.
func valueMatches(x any, t string, depth int) bool {
	if depth > 16 {
		return false
	}
	if rest, ok := strings.CutPrefix(t, "Array of "); ok {
		xs, ok := x.([]any)
		if !ok {
			return false
		}
		for _, e := range xs {
			if !valueMatches(e, rest, depth+1) {
				return false
			}
		}
		return true
	}
	switch t {
	case "Integer":
		switch v := x.(type) {
		case json.Number:
			_, ok := parseInt(v.String())
			return ok
		case string:
			_, ok := parseInt(v)
			return ok
		}
		return false
	case "Float":
		switch v := x.(type) {
		case json.Number:
			return true
		case string:
			_, err := strconv.ParseFloat(v, 64)
			return err == nil
		}
		return false
	case "String":
		switch x.(type) {
		case string, json.Number:
			return true
		}
		return false
	case "Boolean":
		_, ok := x.(bool)
		return ok
	case "True":
		b, ok := x.(bool)
		return ok && b
	case "InputFile":
		_, ok := x.(string)
		return ok
	}
	ts, ok := typeSpecs[t]
	if !ok {
		return false
	}
	if len(ts.Subtypes) > 0 {
		for _, sub := range ts.Subtypes {
			if valueMatches(x, sub, depth+1) {
				return true
			}
		}
		return false
	}
	obj, ok := x.(map[string]any)
	if !ok {
		return false
	}
	for _, f := range ts.Fields {
		v, present := obj[f.Name]
		if !present || v == nil {
			if f.Required {
				return false
			}
			continue
		}
		if f.Const != "" && v != f.Const {
			return false
		}
		matched := false
		for _, ft := range f.Types {
			if valueMatches(v, ft, depth+1) {
				matched = true
				break
			}
		}
		if !matched {
			return false
		}
	}
	return true
}

// missingParam is Telegram's error for an absent required parameter.
func missingParam(method, name string) *apiError {
	switch name {
	case "chat_id":
		return badRequest("chat_id is empty")
	case "text":
		return badRequest("message text is empty")
	case "message_id":
		return badRequest("message identifier is not specified")
	case "photo":
		return badRequest("there is no photo in the request")
	case "document":
		return badRequest("there is no document in the request")
	case "action":
		return badRequest("wrong parameter action in request")
	case "callback_query_id":
		return badRequest("query is too old and response timeout expired or query ID is invalid")
	case "file_id":
		return badRequest("invalid file_id")
	case "from_chat_id":
		return badRequest("chat_id is empty")
	}
	return badRequest(fmt.Sprintf("parameter %q is required", name))
}

// wrongType is Telegram's error for a parameter that does not parse.
func wrongType(p paramSpec) *apiError {
	switch p.Name {
	case "chat_id", "from_chat_id":
		return badRequest("chat not found")
	case "reply_markup":
		return badRequest("can't parse reply keyboard markup JSON object")
	case "entities", "caption_entities":
		return badRequest("can't parse entities JSON object")
	case "reply_parameters":
		return badRequest("can't parse reply parameters JSON object")
	case "link_preview_options":
		return badRequest("can't parse link preview options JSON object")
	case "photo":
		return badRequest("wrong file identifier/HTTP URL specified")
	case "document":
		return badRequest("wrong file identifier/HTTP URL specified")
	}
	return badRequest(fmt.Sprintf("field %q must be of type %s", p.Name, strings.Join(p.Types, " or ")))
}
