/**
 * The strata-cache version that backup headers record. A constant rather than a read of
 * package.json: the CommonJS build has no `import.meta.url` to find it from. A unit test keeps it
 * equal to package.json's version.
 */
export const LIBRARY_VERSION = '0.1.0'
