/**
 * The secrets tests use (passwords, encryption keys, secrets keys are derived from). A test
 * registers each one it makes up; tests/setup/secret-scan.ts then scans everything the test file
 * printed (stdout, stderr, console) for every registered value and fails the file on a match,
 * naming the secret by its label, never by its value.
 */
const registered = new Map<string, string>()

/** Registers `value` as a secret, labelled `label`; returns `value`. */
export function secret(label: string, value: string): string {
  if (value.length >= 6) registered.set(value, label)
  return value
}

/** The labels of the registered secrets that occur in `text`. */
export function secretsIn(text: string): string[] {
  const found: string[] = []
  for (const [value, label] of registered) {
    if (text.includes(value) || text.includes(Buffer.from(value).toString('base64'))) found.push(label)
  }
  return found
}

/** How many secrets are registered (for the scan's own report). */
export function registeredSecrets(): number {
  return registered.size
}
