import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'

/** Every event of the decision-log files (`*.jsonl`) in `dir`, file by file in name order. */
export async function loggedEvents<T>(dir: string): Promise<T[]> {
  const all: T[] = []
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.jsonl')).sort())
    for (const line of (await readFile(join(dir, name), 'utf8')).split('\n'))
      if (line.trim()) all.push(JSON.parse(line) as T)
  return all
}
