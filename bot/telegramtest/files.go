package telegramtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"image"
	_ "image/gif" // decoders for photo dimensions
	_ "image/jpeg"
	_ "image/png"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

const (
	kindPhoto    = "photo"
	kindDocument = "document"

	maxPhotoBytes = 10 << 20
)

// storedFile is an uploaded file, downloadable through its path.
type storedFile struct {
	file   File
	kind   string
	name   string
	mime   string
	data   []byte
	width  int
	height int
}

// photoSizes lists the sizes of a photo. The emulator does not resize
// images, so there is one size: the original.
func (f *storedFile) photoSizes() []PhotoSize {
	return []PhotoSize{{
		FileID: f.file.FileID, FileUniqueID: f.file.FileUniqueID,
		Width: f.width, Height: f.height, FileSize: f.file.FileSize,
	}}
}

func (f *storedFile) document() Document {
	return Document{
		FileID: f.file.FileID, FileUniqueID: f.file.FileUniqueID,
		FileName: f.name, MimeType: f.mime, FileSize: f.file.FileSize,
	}
}

// storeFileLocked keeps an upload and gives it a file_id, a file_unique_id
// and a download path. Photos must decode as images.
func (s *Server) storeFileLocked(kind string, up upload) (*storedFile, *apiError) {
	st := &s.st
	f := &storedFile{kind: kind, name: up.name, data: bytes.Clone(up.data)}
	if kind == kindPhoto {
		if len(up.data) > maxPhotoBytes {
			return nil, badRequest("PHOTO_INVALID_DIMENSIONS")
		}
		cfg, format, err := image.DecodeConfig(bytes.NewReader(up.data))
		if err != nil || cfg.Width == 0 || cfg.Height == 0 {
			return nil, badRequest("IMAGE_PROCESS_FAILED")
		}
		f.width, f.height = cfg.Width, cfg.Height
		f.mime = "image/" + format
	} else {
		if len(up.data) == 0 {
			return nil, badRequest("file must be non-empty")
		}
		f.mime = up.mime
		if f.mime == "" || f.mime == "application/octet-stream" {
			f.mime = mime.TypeByExtension(path.Ext(up.name))
		}
		if f.mime == "" {
			f.mime = http.DetectContentType(up.data)
		}
		if i := strings.IndexByte(f.mime, ';'); i >= 0 {
			f.mime = strings.TrimSpace(f.mime[:i])
		}
	}
	st.nextFile++
	n := st.nextFile
	sum := sha256.Sum256(binary.BigEndian.AppendUint64([]byte(s.cfg.token), uint64(n)))
	prefix := "BQACAgIAAxkBAAI"
	dir, ext := "documents", path.Ext(up.name)
	if kind == kindPhoto {
		prefix, dir, ext = "AgACAgIAAxkBAAI", "photos", ".jpg"
	}
	f.file = File{
		FileID:       prefix + base64.RawURLEncoding.EncodeToString(sum[:30]),
		FileUniqueID: "AQAD" + base64.RawURLEncoding.EncodeToString(sum[30:]),
		FileSize:     int64(len(up.data)),
		FilePath:     dir + "/file_" + strconv.FormatInt(n, 10) + ext,
	}
	st.files[f.file.FileID] = f
	st.filePaths[f.file.FilePath] = f
	return f, nil
}

// inputFileLocked resolves an InputFile parameter: an upload in the request,
// an upload referenced as "attach://<name>", or the file_id of a stored file
// of the same kind.
func (s *Server) inputFileLocked(a args, name, kind string) (*storedFile, *apiError) {
	v := a[name]
	if v.file != nil {
		return s.storeFileLocked(kind, *v.file)
	}
	ref := a.str(name)
	if part, ok := strings.CutPrefix(ref, "attach://"); ok {
		if p, ok := a[part]; ok && p.file != nil {
			return s.storeFileLocked(kind, *p.file)
		}
		return nil, badRequest("wrong file identifier/HTTP URL specified")
	}
	if strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "https://") {
		return nil, badRequest("failed to get HTTP URL content")
	}
	f, ok := s.st.files[ref]
	if !ok {
		return nil, badRequest("wrong file identifier/HTTP URL specified")
	}
	if f.kind != kind {
		return nil, badRequest(fmt.Sprintf("can't use file of type %s as %s", f.kind, kind))
	}
	return f, nil
}

func (s *Server) getFile(_ context.Context, a args) (result, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.st.files[a.str("file_id")]
	if !ok {
		return result{}, badRequest("invalid file_id")
	}
	return result{value: f.file}, nil
}

// serveFile answers GET /file/bot<token>/<file_path>.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, rest string) {
	token, filePath, ok := strings.Cut(rest, "/")
	if !ok || token != s.cfg.token {
		writeError(w, errUnauthorized)
		return
	}
	s.mu.Lock()
	f, ok := s.st.filePaths[filePath]
	var data []byte
	if ok {
		data = f.data
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, errNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	if r.Method != http.MethodHead {
		w.Write(data)
	}
}

// FileData returns the bytes of a stored file by its file_id.
func (s *Server) FileData(fileID string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.st.files[fileID]
	if !ok {
		return nil, false
	}
	return bytes.Clone(f.data), true
}
