package profiles

// Facts from Apple's device-management schemas (github.com/apple/device-management,
// MIT licence, Copyright Apple Inc.), restated as the tests need them — key,
// type, presence, rangelist, whether macOS has it — not copied:
//
//   - payloads: shared/reference/apple-device-management/, tag
//     Release_iOS-18-1_macOS-15-1 (commit b6202ca):
//     com.apple.TCC.configuration-profile-policy.yaml,
//     com.apple.notificationsettings.yaml, com.apple.servicemanagement.yaml
//     (com.apple.system-extension-policy.yaml is there too; Gatehouse
//     does not build that payload);
//   - the outer dictionary and the keys every payload has:
//     mdm/profiles/TopLevel.yaml (commit 0340fd3) and
//     mdm/profiles/CommonPayloadKeys.yaml (commit 0a4527c) of the same
//     repository, which shared/reference does not hold.
//
// Each table says the key path it restates. A key's supportedOS is only
// noted where it says macOS "n/a"; elsewhere a key inherits its
// payload's.

// plistType is a schema type: <string>, <integer>, …
type plistType string

const (
	tString     plistType = "string"
	tInteger    plistType = "integer"
	tBoolean    plistType = "boolean"
	tReal       plistType = "real"
	tDate       plistType = "date"
	tData       plistType = "data"
	tArray      plistType = "array"
	tDictionary plistType = "dictionary"
)

// keySpec is one key of a schema.
type keySpec struct {
	typ        plistType
	required   bool               // presence: required
	rangelist  []any              // allowed values; nil: any
	notOnMacOS bool               // supportedOS: macOS: introduced: n/a
	keys       map[string]keySpec // a dictionary's keys; nil: not checked
	items      *keySpec           // an array's items
}

// payloadSpec is one payload schema: its keys and, from
// payload.supportedOS.macOS, how macOS takes it.
type payloadSpec struct {
	source          string
	userApprovedMDM bool // userapprovedmdm: true
	manualInstall   bool // allowmanualinstall: true
	deviceChannel   bool // devicechannel: true
	keys            map[string]keySpec
}

// topLevelKeys: TopLevel.yaml, payloadkeys.
var topLevelKeys = map[string]keySpec{
	"PayloadIdentifier":        {typ: tString, required: true},
	"PayloadUUID":              {typ: tString, required: true},
	"PayloadType":              {typ: tString, required: true, rangelist: []any{"Configuration"}},
	"PayloadVersion":           {typ: tInteger, required: true, rangelist: []any{1}},
	"IsEncrypted":              {typ: tBoolean},
	"PayloadContent":           {typ: tArray, required: true, items: &keySpec{typ: tDictionary}},
	"EncryptedPayloadContent":  {typ: tData},
	"PayloadDescription":       {typ: tString},
	"PayloadDisplayName":       {typ: tString},
	"HasRemovalPasscode":       {typ: tBoolean},
	"PayloadOrganization":      {typ: tString},
	"PayloadRemovalDisallowed": {typ: tBoolean},
	"PayloadScope":             {typ: tString, rangelist: []any{"System", "User"}},
	"RemovalDate":              {typ: tDate},
	"DurationUntilRemoval":     {typ: tReal},
	"PayloadExpirationDate":    {typ: tDate},
	"TargetDeviceType":         {typ: tInteger, rangelist: []any{0, 1, 2, 3, 4, 5}},
	"ConsentText":              {typ: tDictionary},
}

// commonPayloadKeys: CommonPayloadKeys.yaml, payloadkeys — in every
// payload dictionary besides its own keys.
var commonPayloadKeys = map[string]keySpec{
	"PayloadIdentifier":   {typ: tString, required: true},
	"PayloadUUID":         {typ: tString, required: true},
	"PayloadType":         {typ: tString, required: true},
	"PayloadVersion":      {typ: tInteger, required: true, rangelist: []any{1}},
	"PayloadDescription":  {typ: tString},
	"PayloadDisplayName":  {typ: tString},
	"PayloadOrganization": {typ: tString},
}

// tccIdentity: com.apple.TCC.configuration-profile-policy.yaml,
// payloadkeys Services.subkeys[*].subkeys IdentityDict (the &id001 anchor
// every service shares).
var tccIdentity = keySpec{typ: tDictionary, keys: map[string]keySpec{
	"Identifier":                {typ: tString, required: true},
	"IdentifierType":            {typ: tString, required: true, rangelist: []any{"bundleID", "path"}},
	"CodeRequirement":           {typ: tString, required: true},
	"StaticCode":                {typ: tBoolean},
	"Allowed":                   {typ: tBoolean, required: true},
	"Authorization":             {typ: tString, rangelist: []any{"Allow", "Deny", "AllowStandardUserToSetSystemService"}},
	"Comment":                   {typ: tString},
	"AEReceiverIdentifier":      {typ: tString},
	"AEReceiverIdentifierType":  {typ: tString, rangelist: []any{"bundleID", "path"}},
	"AEReceiverCodeRequirement": {typ: tString},
}}

// tccServices: the same file, payloadkeys Services.subkeys[*].key — each
// an <array> of identities.
var tccServices = []string{
	"AddressBook", "Calendar", "Reminders", "Photos", "Camera", "Microphone",
	"Accessibility", "PostEvent", "SystemPolicyAllFiles", "SystemPolicySysAdminFiles",
	"AppleEvents", "MediaLibrary", "FileProviderPresence", "ListenEvent",
	"ScreenCapture", "SpeechRecognition", "SystemPolicyDesktopFolder",
	"SystemPolicyDocumentsFolder", "SystemPolicyDownloadsFolder",
	"SystemPolicyNetworkVolumes", "SystemPolicyRemovableVolumes",
	"SystemPolicyAppBundles", "SystemPolicyAppData", "BluetoothAlways",
}

// tccDenyOnly: the same file, the content of Camera, Microphone,
// ListenEvent and ScreenCapture: "can't be given in a profile; it can
// only be denied".
var tccDenyOnly = map[string]bool{"Camera": true, "Microphone": true, "ListenEvent": true, "ScreenCapture": true}

// tccAppleEventsOnly: the same file, the content of AEReceiverIdentifier,
// AEReceiverIdentifierType and AEReceiverCodeRequirement: "required for
// AppleEvents service; not valid for other services".
var tccAppleEventsOnly = []string{"AEReceiverIdentifier", "AEReceiverIdentifierType", "AEReceiverCodeRequirement"}

func tccServicesSpec() map[string]keySpec {
	m := map[string]keySpec{}
	for _, s := range tccServices {
		m[s] = keySpec{typ: tArray, items: &tccIdentity}
	}
	return m
}

// payloadSpecs, by PayloadType (each file's payload.payloadtype).
var payloadSpecs = map[string]payloadSpec{
	// payload.supportedOS.macOS: devicechannel true, userchannel false,
	// userapprovedmdm true, allowmanualinstall false.
	"com.apple.TCC.configuration-profile-policy": {
		source:          "com.apple.TCC.configuration-profile-policy.yaml",
		userApprovedMDM: true, manualInstall: false, deviceChannel: true,
		keys: map[string]keySpec{
			// payloadkeys Services: <dictionary>, required.
			"Services": {typ: tDictionary, required: true, keys: tccServicesSpec()},
		},
	},
	// payload.supportedOS.macOS: devicechannel true, userchannel true,
	// allowmanualinstall true (no userapprovedmdm).
	"com.apple.notificationsettings": {
		source:          "com.apple.notificationsettings.yaml",
		userApprovedMDM: false, manualInstall: true, deviceChannel: true,
		keys: map[string]keySpec{
			// payloadkeys NotificationSettings: <array>, required, of
			// NotificationSettingsItem <dictionary>.
			"NotificationSettings": {typ: tArray, required: true, items: &keySpec{typ: tDictionary, keys: map[string]keySpec{
				"BundleIdentifier":         {typ: tString, required: true},
				"NotificationsEnabled":     {typ: tBoolean},
				"ShowInNotificationCenter": {typ: tBoolean},
				"ShowInLockScreen":         {typ: tBoolean},
				"AlertType":                {typ: tInteger, rangelist: []any{0, 1, 2}},
				"BadgesEnabled":            {typ: tBoolean},
				"SoundsEnabled":            {typ: tBoolean},
				"ShowInCarPlay":            {typ: tBoolean, notOnMacOS: true},
				"CriticalAlertEnabled":     {typ: tBoolean},
				"GroupingType":             {typ: tInteger, rangelist: []any{0, 1, 2}, notOnMacOS: true},
				"PreviewType":              {typ: tInteger, rangelist: []any{0, 1, 2}, notOnMacOS: true},
			}}},
		},
	},
	// payload.supportedOS.macOS: introduced 13.0, devicechannel true,
	// userchannel false, userapprovedmdm true, allowmanualinstall false.
	"com.apple.servicemanagement": {
		source:          "com.apple.servicemanagement.yaml",
		userApprovedMDM: true, manualInstall: false, deviceChannel: true,
		keys: map[string]keySpec{
			// payloadkeys Rules: <array>, required, of Rule <dictionary>.
			"Rules": {typ: tArray, required: true, items: &keySpec{typ: tDictionary, keys: map[string]keySpec{
				"RuleType":       {typ: tString, required: true, rangelist: []any{"BundleIdentifier", "BundleIdentifierPrefix", "Label", "LabelPrefix", "TeamIdentifier"}},
				"RuleValue":      {typ: tString, required: true},
				"Comment":        {typ: tString},
				"TeamIdentifier": {typ: tString},
			}}},
		},
	},
}
