// Dialogs as the agent sends them (app/model.go, JSON field names).

const program = {
  name: 'ffmpeg',
  path: '/home/alice/Downloads/ffmpeg-7.1/bin/ffmpeg',
  sha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
  app_type: 'ELF executable',
  args: ['-i', 'in.mov', 'out.mp4'],
};

const signedProgram = {
  name: 'Zoom',
  path: '/Applications/zoom.us.app/Contents/MacOS/zoom.us',
  sha256: 'b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9',
  publisher: 'Developer ID Application: Zoom Video Communications, Inc. (BJ4HAAB9B3)',
  team_id: 'BJ4HAAB9B3',
  signing_id: 'us.zoom.xos',
  app_type: 'Application bundle',
};

export const warning = {
  request_id: 101,
  kind: 'warning',
  title: 'ffmpeg is not approved software',
  body: 'This program is not on the list of approved software.\nContinue only if you trust where it came from.',
  url: 'https://intranet.example.com/software-policy',
  company: 'Acme Corporation',
  program,
};

export const justification = {
  request_id: 102,
  kind: 'justification',
  title: 'ffmpeg needs a reason to run',
  body: 'Tell us why you need this program. Your reason is recorded.',
  company: 'Acme Corporation',
  min_justification: 10,
  program,
};

export const denied = {
  request_id: 103,
  kind: 'denied',
  title: 'Zoom is not allowed',
  body: 'Video conferencing tools other than Teams are not allowed on company computers.\nIf you need Zoom for a customer meeting, ask the IT service desk.',
  company: 'Acme Corporation',
  program: signedProgram,
};

export const deniedUnsigned = {
  ...denied,
  request_id: 104,
  title: 'ffmpeg is not allowed',
  body: 'Programs downloaded from the internet are not allowed.',
  program,
};

export const approval = {
  request_id: 105,
  kind: 'approval',
  title: 'ffmpeg needs approval',
  body: 'An administrator must approve this program before it runs.',
  company: 'Acme Corporation',
  program,
  state: 'pending',
};

export const offline = {
  request_id: 106,
  kind: 'approval_offline',
  title: 'ffmpeg needs approval',
  company: 'Acme Corporation',
  program,
  computer: 'LAPTOP-ALICE-7',
  request_code: '191279',
  policy_revision: 12,
  state: 'pending',
};

export const admin = {
  request_id: -1,
  kind: 'admin',
  title: 'Request admin rights',
  body: 'You get administrator rights on this computer for the time you choose; they end by themselves, and when you log out or lock the screen. Everything you run meanwhile is recorded. Say why you need them.',
  company: 'Acme Corporation',
  min_justification: 10,
  program: { name: '', path: '' },
  admin: {
    require: 'justification',
    default: '15m0s',
    lengths: [
      { value: '5m0s', label: '5 minutes' }, { value: '15m0s', label: '15 minutes' },
      { value: '30m0s', label: '30 minutes' }, { value: '1h0m0s', label: '1 hour' },
    ],
  },
};
