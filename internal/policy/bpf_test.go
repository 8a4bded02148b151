package policy

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"
)

// SeccompData is the input of a seccomp filter (struct seccomp_data).
type SeccompData struct {
	Nr   int32
	Arch uint32
	IP   uint64
	Args [6]uint64
}

func (d *SeccompData) bytes() []byte {
	b := make([]byte, 64)
	binary.NativeEndian.PutUint32(b[0:], uint32(d.Nr))
	binary.NativeEndian.PutUint32(b[4:], d.Arch)
	binary.NativeEndian.PutUint64(b[8:], d.IP)
	for i, a := range d.Args {
		binary.NativeEndian.PutUint64(b[16+8*i:], a)
	}
	return b
}

// Eval runs a classic BPF seccomp program over d the way the kernel does and
// returns the filter's verdict. It lets tests and tools check a program
// without installing it. Only the instructions the seccomp verifier accepts
// are supported.
func Eval(prog []unix.SockFilter, d SeccompData) (uint32, error) {
	data := d.bytes()
	var a, x uint32
	var mem [16]uint32
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		k := in.K
		switch in.Code {
		case bpfLD | bpfW | bpfABS:
			if k%4 != 0 || int(k)+4 > len(data) {
				return 0, fmt.Errorf("bpf: pc %d: load at offset %d out of bounds", pc, k)
			}
			a = binary.NativeEndian.Uint32(data[k:])
		case 0x80 | bpfW: // BPF_LD|BPF_W|BPF_LEN
			a = uint32(len(data))
		case 0x00: // BPF_LD|BPF_IMM
			a = k
		case 0x01: // BPF_LDX|BPF_IMM
			x = k
		case 0x81: // BPF_LDX|BPF_W|BPF_LEN
			x = uint32(len(data))
		case 0x60: // BPF_LD|BPF_MEM
			if k >= 16 {
				return 0, fmt.Errorf("bpf: pc %d: bad scratch slot %d", pc, k)
			}
			a = mem[k]
		case 0x61: // BPF_LDX|BPF_MEM
			if k >= 16 {
				return 0, fmt.Errorf("bpf: pc %d: bad scratch slot %d", pc, k)
			}
			x = mem[k]
		case 0x02: // BPF_ST
			if k >= 16 {
				return 0, fmt.Errorf("bpf: pc %d: bad scratch slot %d", pc, k)
			}
			mem[k] = a
		case 0x03: // BPF_STX
			if k >= 16 {
				return 0, fmt.Errorf("bpf: pc %d: bad scratch slot %d", pc, k)
			}
			mem[k] = x
		case 0x07: // BPF_MISC|BPF_TAX
			x = a
		case 0x87: // BPF_MISC|BPF_TXA
			a = x
		case bpfRET | bpfK:
			return k, nil
		case bpfRET | 0x10: // BPF_RET|BPF_A
			return a, nil
		case bpfJMP | bpfJA:
			pc += int(k)
		default:
			class := in.Code & 0x07
			src := in.Code & 0x08
			op := in.Code & 0xf0
			operand := k
			if src != 0 {
				operand = x
			}
			switch class {
			case 0x04: // BPF_ALU
				switch op {
				case 0x00:
					a += operand
				case 0x10:
					a -= operand
				case 0x20:
					a *= operand
				case 0x30:
					if operand == 0 {
						return 0, nil // the kernel's verdict for division by zero: kill
					}
					a /= operand
				case 0x40:
					a |= operand
				case 0x50:
					a &= operand
				case 0x60:
					a <<= operand & 31
				case 0x70:
					a >>= operand & 31
				case 0x80:
					a = -a
				case 0x90:
					if operand == 0 {
						return 0, nil
					}
					a %= operand
				case 0xa0:
					a ^= operand
				default:
					return 0, fmt.Errorf("bpf: pc %d: unsupported ALU op %#x", pc, in.Code)
				}
			case bpfJMP:
				var cond bool
				switch op {
				case bpfJEQ:
					cond = a == operand
				case 0x20: // BPF_JGT
					cond = a > operand
				case bpfJGE:
					cond = a >= operand
				case bpfJSET:
					cond = a&operand != 0
				default:
					return 0, fmt.Errorf("bpf: pc %d: unsupported jump %#x", pc, in.Code)
				}
				if cond {
					pc += int(in.Jt)
				} else {
					pc += int(in.Jf)
				}
			default:
				return 0, fmt.Errorf("bpf: pc %d: unsupported instruction %#x", pc, in.Code)
			}
		}
	}
	return 0, fmt.Errorf("bpf: program ends without a return")
}
