// electron-builder afterPack hook (electron-builder.yml): flips Electron's fuses in the packaged
// binary, so the shipped app cannot be turned into a general Node.js runtime or debugged by
// whoever can set its environment or arguments, and only runs the app.asar it was built with.
import path from 'node:path';
import { FuseV1Options, FuseVersion, flipFuses } from '@electron/fuses';

/** The fuses, by name: tests check this object; the hook applies it. */
export const FUSES = {
  version: FuseVersion.V1,
  // ELECTRON_RUN_AS_NODE=1 would make the app a plain Node.js that runs any script.
  [FuseV1Options.RunAsNode]: false,
  // NODE_OPTIONS (e.g. --require evil.js) would run code inside the app.
  [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
  // --inspect / --inspect-brk would open a debugger port into the main process.
  [FuseV1Options.EnableNodeCliInspectArguments]: false,
  // app.asar is checked against the hash electron-builder embeds; a modified archive does not start.
  [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: true,
  // ... and the app is only ever loaded from that archive, never from a loose folder beside it.
  [FuseV1Options.OnlyLoadAppFromAsar]: true,
  [FuseV1Options.EnableCookieEncryption]: true,
};

/** The Electron executable electron-builder just packed, per platform. */
export function electronBinary(context) {
  const name = context.packager.appInfo.productFilename;
  switch (context.electronPlatformName) {
    case 'darwin':
    case 'mas':
      return path.join(context.appOutDir, `${name}.app`);
    case 'win32':
      return path.join(context.appOutDir, `${name}.exe`);
    default:
      return path.join(context.appOutDir, context.packager.executableName);
  }
}

export default async function afterPack(context, flip = flipFuses) {
  await flip(electronBinary(context), {
    ...FUSES,
    // Flipping fuses invalidates a macOS ad-hoc signature; electron-builder signs again afterwards.
    resetAdHocDarwinSignature: context.electronPlatformName === 'darwin',
  });
}
