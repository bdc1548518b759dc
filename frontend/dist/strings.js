// Every string the dialogs show, in one place so they can be translated.
// Text from the policy (titles, bodies, the denied message) and from the
// agent (outcome messages, error texts) is not here: it arrives translated
// or not at all. Entries that take values are functions.

export const lang = 'en';

export const S = {
  defaultCompany: 'Gatehouse',
  windowTitle: 'Gatehouse',

  // Buttons.
  cancel: 'Cancel',
  close: 'Close',
  continue: 'Continue',
  requestApproval: 'Request Approval',
  submit: 'Submit',
  ok: 'OK',
  publisherInfo: 'Publisher Info',
  copy: 'Copy',
  copied: 'Copied',
  copyFailed: 'Could not copy; select the code and copy it yourself.',
  moreInfo: 'More information',
  moreInfoHint: '(opens in your browser)',

  // The program line under the title.
  programLabel: 'Program',

  // Empty and broken states.
  emptyTitle: 'No pending requests',
  emptyBody: 'Programs that need your confirmation, a reason or an approval will show up here.',
  noBridgeTitle: 'The dialog cannot reach the Gatehouse agent',
  noBridgeBody: 'Close this window and start the program again. If this keeps happening, tell your help desk.',
  unknownError: 'Something went wrong. Try again, or tell your help desk.',
  loadFailed: (err) => `Could not load the request: ${err}`,
  unknownKindTitle: 'This request cannot be shown',
  unknownKindBody: (kind) =>
    `This version of the dialog does not know "${kind}" requests. Update Gatehouse or tell your help desk.`,

  // Justification and approval reasons.
  reasonLabel: 'Reason',
  reasonLabelOptional: 'Reason (optional)',
  reasonPlaceholder: 'Why do you need to run this program?',
  reasonHintMin: (n) => `At least ${n} character${n === 1 ? '' : 's'}.`,
  reasonRequired: 'Please give a reason.',
  reasonTooShort: (min, have) =>
    `Please give at least ${min} character${min === 1 ? '' : 's'} (you have ${have}).`,

  // Approval window.
  windowLegend: 'When do you need it? (optional)',
  windowStart: 'From',
  windowEnd: 'Until',
  windowBothOrNone: 'Give both a start and an end, or leave both empty.',
  windowBadTime: 'That is not a complete date and time.',
  windowStartPast: 'The start is in the past. Choose a time from now on, or leave both empty.',
  windowEndBeforeStart: 'The end must be after the start.',

  // Approval submitted.
  submittedTitle: 'Request submitted',
  submittedBody:
    'Your request was sent for approval. A notification will tell you when it is decided.',

  // Admin rights (the menu's Request admin rights…).
  adminLengthLabel: 'For how long',
  adminReasonPlaceholder: 'Why do you need admin rights?',
  adminRequest: 'Request',
  adminDoneTitle: 'Admin rights',

  // Offline approval.
  offlineIntro:
    'This computer is offline. Call your help desk, read them the details below and type the response code they give you.',
  computerLabel: 'Computer',
  policyRevisionLabel: 'Policy revision',
  requestCodeLabel: 'Request code',
  copyRequestCode: 'Copy request code',
  responseCodeLabel: 'Response code',
  responseCodeHint: '12 letters and digits',
  responseCodePlaceholder: 'XXXX-XXXX-XXXX',
  responseCodeEmpty: 'Type the 12-character response code the help desk gave you.',
  responseCodeLength: (n) => `The response code has 12 characters; you typed ${n}.`,

  // Publisher Info panel.
  publisherPanelLabel: 'Publisher information',
  publisher: 'Publisher',
  teamID: 'Team ID',
  signingID: 'Signing ID',
  signature: 'Signature',
  notSigned: 'Not signed',
  noPublisherInfo: 'No publisher information on this system',
  path: 'Path',
  sha256: 'SHA-256',
  appType: 'App type',
  none: '—',
  notKnown: 'Not known',

  // Outcome without a message (the agent always sends one; just in case).
  doneTitle: 'Done',
  doneBody: 'Your answer was sent.',
};
