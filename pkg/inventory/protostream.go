package inventory

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protowire"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
)

// The list of every pod is the largest read. It is asked for in protobuf (the API server encodes
// it several times faster than JSON) and decoded as it streams in, one pod at a time, reading only
// the fields the room rules need: the name, the node, the phase and the containers' requests. The
// rest of each pod (metadata, volumes, status) is skipped without being decoded, so thousands of
// pods cost little time and memory on the client. It earns its place against client-go's typed
// List of the same request: preflight with 7,155 pods takes about half the time and 40 MiB less
// (docs/benchmarks.md, "The every-pod read").

// protobufMagic opens every protobuf-encoded response of the API server.
var protobufMagic = []byte{0x6b, 0x38, 0x73, 0x00}

// Field numbers of the messages read, from k8s.io/api and k8s.io/apimachinery generated.proto.
const (
	unknownRaw     = 2 // runtime.Unknown.raw: the encoded list
	listItems      = 2 // PodList.items
	podMetadata    = 1 // Pod.metadata
	podSpec        = 2 // Pod.spec
	podStatus      = 3 // Pod.status
	metaName       = 1 // ObjectMeta.name
	metaNamespace  = 3 // ObjectMeta.namespace
	statusPhase    = 1 // PodStatus.phase
	specContainers = 2
	specNodeName   = 10
	specInits      = 20
	specOverhead   = 32
	specResources  = 40
)

// streamPods GETs a pod list at path in protobuf and calls keep for each pod, slimmed.
func streamPods(ctx context.Context, rc *rest.RESTClient, path string, params map[string]string, keep func(corev1.Pod)) error {
	body, err := openList(ctx, rc, path, "application/vnd.kubernetes.protobuf", params)
	if err != nil {
		return err
	}
	defer body.Close()
	return decodePodStream(body, keep)
}

// decodePodStream reads a protobuf PodList response (magic, then a runtime.Unknown whose raw field
// is the list) from r.
func decodePodStream(r io.Reader, keep func(corev1.Pod)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	magic := make([]byte, len(protobufMagic))
	if _, err := io.ReadFull(br, magic); err != nil || !bytes.Equal(magic, protobufMagic) {
		return fmt.Errorf("reading the pod list: the API server did not answer in protobuf")
	}
	found := false
	err := eachField(br, -1, func(num protowire.Number, length uint64, body *bufio.Reader) error {
		if num != unknownRaw {
			return discard(body, length)
		}
		found = true
		var buf []byte
		return eachField(body, int64(length), func(num protowire.Number, length uint64, body *bufio.Reader) error {
			if num != listItems {
				return discard(body, length)
			}
			if length > 64<<20 {
				return fmt.Errorf("a pod of %d bytes", length)
			}
			if uint64(cap(buf)) < length {
				buf = make([]byte, length)
			}
			buf = buf[:length]
			if _, err := io.ReadFull(body, buf); err != nil {
				return err
			}
			pod, err := slimPodProto(buf)
			if err != nil {
				return err
			}
			keep(pod)
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("reading the pod list: %w", err)
	}
	if !found {
		return fmt.Errorf("reading the pod list: the response holds no list")
	}
	return nil
}

// eachField reads the length-delimited fields of a message of size bytes from r (size < 0: up to
// the end of r), calling f with the reader positioned at each field's body; f must consume it.
// Fields of other wire types are skipped.
func eachField(r *bufio.Reader, size int64, f func(protowire.Number, uint64, *bufio.Reader) error) error {
	var read int64
	for size < 0 || read < size {
		tag, n, err := uvarint(r)
		if err == io.EOF && size < 0 && n == 0 {
			return nil
		}
		if err != nil {
			return unexpected(err)
		}
		read += int64(n)
		num, typ := protowire.DecodeTag(tag)
		switch typ {
		case protowire.BytesType:
			length, n, err := uvarint(r)
			if err != nil {
				return unexpected(err)
			}
			read += int64(n)
			if err := f(num, length, r); err != nil {
				return unexpected(err)
			}
			read += int64(length)
		case protowire.VarintType:
			_, n, err := uvarint(r)
			if err != nil {
				return unexpected(err)
			}
			read += int64(n)
		case protowire.Fixed32Type:
			if err := discard(r, 4); err != nil {
				return unexpected(err)
			}
			read += 4
		case protowire.Fixed64Type:
			if err := discard(r, 8); err != nil {
				return unexpected(err)
			}
			read += 8
		default:
			return fmt.Errorf("unsupported protobuf wire type %d", typ)
		}
	}
	if read != size {
		return fmt.Errorf("a field runs past the end of its message")
	}
	return nil
}

func uvarint(r *bufio.Reader) (uint64, int, error) {
	n := 0
	v, err := binary.ReadUvarint(countingByteReader{r, &n})
	return v, n, err
}

type countingByteReader struct {
	r *bufio.Reader
	n *int
}

func (c countingByteReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		*c.n++
	}
	return b, err
}

func discard(r *bufio.Reader, n uint64) error {
	_, err := r.Discard(int(n))
	return err
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// slimPodProto decodes what the room rules read of one encoded Pod.
func slimPodProto(b []byte) (corev1.Pod, error) {
	var pod corev1.Pod
	err := eachBytesField(b, func(num protowire.Number, v []byte) error {
		switch num {
		case podMetadata:
			return eachBytesField(v, func(num protowire.Number, v []byte) error {
				switch num {
				case metaName:
					pod.Name = string(v)
				case metaNamespace:
					pod.Namespace = string(v)
				}
				return nil
			})
		case podSpec:
			// Only the fields read are decoded: they are copied into a smaller PodSpec message.
			var kept []byte
			if err := eachBytesField(v, func(num protowire.Number, v []byte) error {
				switch num {
				case specContainers, specNodeName, specInits, specOverhead, specResources:
					kept = protowire.AppendTag(kept, num, protowire.BytesType)
					kept = protowire.AppendBytes(kept, v)
				}
				return nil
			}); err != nil {
				return err
			}
			return pod.Spec.Unmarshal(kept)
		case podStatus:
			return eachBytesField(v, func(num protowire.Number, v []byte) error {
				if num == statusPhase {
					pod.Status.Phase = corev1.PodPhase(v)
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return corev1.Pod{}, fmt.Errorf("decoding a pod: %w", err)
	}
	return slimmed(&pod), nil
}

// eachBytesField calls f with each length-delimited field of the message b, skipping the others.
func eachBytesField(b []byte, f func(protowire.Number, []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if typ != protowire.BytesType {
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return protowire.ParseError(n)
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if err := f(num, v); err != nil {
			return err
		}
	}
	return nil
}
