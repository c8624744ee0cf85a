package pbxadminapi

import (
	"bytes"
	"context"
	"crypto/rc4"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/appwebsocket/appws"
)

// Passwords of PBX objects are stored encrypted with the PBX key, a 16-byte
// key kept in the admin object encrypted with the PBX password (the
// administrator's security password of the PBX; not the app's password,
// not the session key). See the package doc for the scheme and what of it
// is inferred.

// The limits of the password scheme; beyond them its behaviour is not
// documented, so the functions here refuse.
const (
	// MaxPasswordLen is the longest user password: it is stored padded
	// with zero bytes to 24 bytes, and needs one to end it.
	MaxPasswordLen = 23
	// MaxPBXPasswordLen is the longest PBX password: it is the RC4 key of
	// the PBX key, zero-padded to 16 bytes.
	MaxPBXPasswordLen = 16
)

// storedLen is the length of a stored password (16 before firmware V9
// hotfix 7).
const storedLen = 24

// The errors of the password functions. None of them carries a password.
var (
	// ErrWrongPBXPassword: the PBX password does not decrypt the admin
	// object's pwd to itself.
	ErrWrongPBXPassword = errors.New("pbxadminapi: the PBX password does not match the admin object")
	// ErrPasswordTooLong: a user password over MaxPasswordLen bytes.
	ErrPasswordTooLong = errors.New("pbxadminapi: the password is longer than 23 bytes")
	// ErrPBXPasswordTooLong: a PBX password over MaxPBXPasswordLen bytes.
	ErrPBXPasswordTooLong = errors.New("pbxadminapi: the PBX password is longer than 16 bytes")
	// ErrPasswordCharacters: a password with a character outside printable
	// ASCII (space to tilde).
	ErrPasswordCharacters = errors.New("pbxadminapi: a password may hold printable ASCII only (space to ~)")
	// ErrEmptyPassword: an empty user password.
	ErrEmptyPassword = errors.New("pbxadminapi: the password is empty")
)

// AdminKey is the admin object's key pair, as MonitorAdminObjectInfo
// reports it: the PBX key encrypted with the PBX password, and the PBX
// password encrypted with the PBX key. ConfigMonitor.AdminKey returns it
// (with Config.AdminObject). It prints (fmt) and logs (slog) redacted.
type AdminKey struct {
	key, pwd []byte
}

// ParseAdminKey makes an AdminKey from the "key" and "pwd" hex strings of
// MonitorAdminObjectInfo.
func ParseAdminKey(keyHex, pwdHex string) (AdminKey, error) {
	key, err := hex.DecodeString(keyHex)
	if err != nil || len(key) == 0 {
		return AdminKey{}, errors.New("pbxadminapi: the admin object's key is not a hex string")
	}
	pwd, err := hex.DecodeString(pwdHex)
	if err != nil || len(pwd) == 0 {
		return AdminKey{}, errors.New("pbxadminapi: the admin object's pwd is not a hex string")
	}
	return AdminKey{key: key, pwd: pwd}, nil
}

// IsZero reports whether a is the zero AdminKey (none known).
func (a AdminKey) IsZero() bool { return a.key == nil }

// Equal reports whether a and b are the same key pair.
func (a AdminKey) Equal(b AdminKey) bool {
	return bytes.Equal(a.key, b.key) && bytes.Equal(a.pwd, b.pwd)
}

// String returns "pbxadminapi.AdminKey[redacted]".
func (a AdminKey) String() string { return "pbxadminapi.AdminKey" + redacted }

// Format prints "pbxadminapi.AdminKey[redacted]" for every verb.
func (a AdminKey) Format(f fmt.State, _ rune) { io.WriteString(f, a.String()) }

// pbxKey decrypts the PBX key with pbxPassword and checks it against the
// admin object's pwd.
func (a AdminKey) pbxKey(pbxPassword string) ([]byte, error) {
	if a.IsZero() {
		return nil, errors.New("pbxadminapi: no admin key (MonitorAdminObjectInfo) yet")
	}
	if err := checkChars(pbxPassword); err != nil {
		return nil, err
	}
	if len(pbxPassword) > MaxPBXPasswordLen {
		return nil, ErrPBXPasswordTooLong
	}
	pad := make([]byte, MaxPBXPasswordLen)
	copy(pad, pbxPassword)
	k := xor(pad, a.key)
	check := xor(k, a.pwd)
	if n := bytes.IndexByte(check, 0); n >= 0 {
		check = check[:n]
	}
	if string(check) != pbxPassword {
		return nil, ErrWrongPBXPassword
	}
	return k, nil
}

// xor returns data encrypted (or decrypted) with RC4 under key.
func xor(key, data []byte) []byte {
	c, err := rc4.NewCipher(key)
	if err != nil {
		// Keys here are 16 bytes or the admin object's key (checked
		// non-empty); RC4 takes 1 to 256.
		panic("pbxadminapi: " + err.Error())
	}
	out := make([]byte, len(data))
	c.XORKeyStream(out, data)
	return out
}

func checkChars(s string) error {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return ErrPasswordCharacters
		}
	}
	return nil
}

// CheckPasswords reports, without an admin key, whether the scheme takes
// pbxPassword and password: the errors EncryptPassword returns for them
// before it decrypts anything.
func CheckPasswords(pbxPassword, password string) error {
	switch {
	case password == "":
		return ErrEmptyPassword
	case checkChars(password) != nil || checkChars(pbxPassword) != nil:
		return ErrPasswordCharacters
	case len(password) > MaxPasswordLen:
		return ErrPasswordTooLong
	case len(pbxPassword) > MaxPBXPasswordLen:
		return ErrPBXPasswordTooLong
	}
	return nil
}

// EncryptPassword returns password in the form the PBX stores and
// UpdateObject's pwd takes: the lowercase hex of RC4 under the PBX key of
// the password zero-padded to 24 bytes. The PBX key is decrypted from admin
// with pbxPassword, which must match it (ErrWrongPBXPassword). Passwords
// over 23 bytes, PBX passwords over 16, empty passwords and characters
// outside printable ASCII are refused: the scheme's behaviour for them is
// not documented.
func EncryptPassword(admin AdminKey, pbxPassword, password string) (Secret, error) {
	if err := CheckPasswords(pbxPassword, password); err != nil {
		return "", err
	}
	k, err := admin.pbxKey(pbxPassword)
	if err != nil {
		return "", err
	}
	pad := make([]byte, storedLen)
	copy(pad, password)
	return Secret(hex.EncodeToString(xor(k, pad))), nil
}

// DecryptPassword reverses EncryptPassword: it returns the password stored
// as stored (an Object's Pwd), in the 24-byte form or the older 16-byte
// one.
func DecryptPassword(admin AdminKey, pbxPassword string, stored Secret) (string, error) {
	k, err := admin.pbxKey(pbxPassword)
	if err != nil {
		return "", err
	}
	b, err := hex.DecodeString(string(stored))
	if err != nil || len(b) == 0 || len(b) > storedLen {
		return "", errors.New("pbxadminapi: the stored password is not 1 to 24 bytes in hex")
	}
	p := xor(k, b)
	if n := bytes.IndexByte(p, 0); n >= 0 {
		p = p[:n]
	}
	return string(p), nil
}

// SetPassword sets the password of an object: it is UpdateObject with only
// GUID (or CN, with GUID ByCN) and pwd, where pwd is Password encrypted
// with EncryptPassword. Password and PBXPassword never go on the wire, into
// an error or into a log line, and a SetPassword prints redacted; nothing
// is sent when the PBX password does not match Admin.
type SetPassword struct {
	// GUID names the object; ByCN names it by CN.
	GUID string
	CN   string
	// Password is the new password, in plain text.
	Password string
	// PBXPassword is the PBX's security password, which decrypts the PBX
	// key from Admin.
	PBXPassword string
	// Admin is the admin object's key pair (ConfigMonitor.AdminKey).
	Admin AdminKey
}

// update returns the UpdateObject that SetPassword sends.
func (m SetPassword) update() (UpdateObject, error) {
	if m.GUID == "" {
		return UpdateObject{}, errors.New("pbxadminapi: SetPassword: no guid (ByCN names the object by cn)")
	}
	if m.GUID == ByCNOrCreate {
		return UpdateObject{}, errors.New(`pbxadminapi: SetPassword: guid "?" would create an object`)
	}
	pwd, err := EncryptPassword(m.Admin, m.PBXPassword, m.Password)
	if err != nil {
		return UpdateObject{}, err
	}
	u := UpdateObject{GUID: m.GUID, Pwd: Set(pwd)}
	if m.CN != "" {
		u.CN = Set(m.CN)
	}
	return u, u.check()
}

// MarshalJSON encodes the UpdateObject that sets the password: with the
// password encrypted.
func (m SetPassword) MarshalJSON() ([]byte, error) {
	u, err := m.update()
	if err != nil {
		return nil, err
	}
	return u.MarshalJSON()
}

// Format prints the object's names only, for every verb.
func (m SetPassword) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "pbxadminapi.SetPassword{GUID:%q CN:%q Password:%s PBXPassword:%s}", m.GUID, m.CN, redacted, redacted)
}

// LogValue makes slog log what Format prints.
func (m SetPassword) LogValue() slog.Value { return slog.StringValue(fmt.Sprint(m)) }

// Do encrypts the password and sends the UpdateObject; it returns the
// object's guid as the Result gives it. Errors before the send (a PBX
// password that does not match, a password the scheme does not take) send
// nothing.
func (m SetPassword) Do(ctx context.Context, r appws.Requester) (guid string, err error) {
	u, err := m.update()
	if err != nil {
		return "", err
	}
	return u.Do(ctx, r)
}
