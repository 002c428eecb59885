/**
 * Just enough of GitHub-flavoured Markdown to check the documentation: where its links point and
 * which anchors its headings give. Code (fenced blocks and inline spans) is neither a link nor a
 * heading, so it is removed first.
 */

/** The text with fenced code blocks blanked out (their lines kept, so line counts stay). */
export function withoutFencedCode(markdown: string): string {
  const out: string[] = []
  let fence: string | undefined
  for (const line of markdown.split('\n')) {
    // Fences may be indented (a code block inside a list item).
    const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1]
    if (fence === undefined && marker) {
      fence = marker
      out.push('')
    } else if (fence !== undefined) {
      if (marker?.[0] === fence[0] && marker.length >= fence.length && line.trim() === marker)
        fence = undefined
      out.push('')
    } else out.push(line)
  }
  return out.join('\n')
}

/** Prose: the text without fenced blocks and without inline code spans (which may cross line breaks). */
export function prose(markdown: string): string {
  return withoutFencedCode(markdown).replace(/(`+)[\s\S]*?\1/g, '')
}

/**
 * The anchor GitHub gives a heading: lower case, punctuation removed (letters, digits, `_`, `-`
 * and spaces stay), spaces turned into `-`; a repeated slug gets `-1`, `-2`… in order.
 */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>()
  const seen = new Map<string, number>()
  for (const line of withoutFencedCode(markdown).split('\n')) {
    const text = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1]
    if (text === undefined) continue
    const base = text
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/<[^>]+>/g, '')
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
      .replace(/ /g, '-')
    const count = seen.get(base) ?? 0
    seen.set(base, count + 1)
    anchors.add(count === 0 ? base : `${base}-${count}`)
  }
  return anchors
}

/** Every link target in the prose: inline links and images, reference definitions, autolinks, HTML href/src. */
export function linkTargets(markdown: string): string[] {
  const text = prose(markdown)
  const targets: string[] = []
  for (const m of text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g)) targets.push(m[1]!)
  for (const m of text.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)) targets.push(m[1]!)
  for (const m of text.matchAll(/<([a-z][a-z0-9+.-]*:[^>\s]*)>/gi)) targets.push(m[1]!)
  for (const m of text.matchAll(/\b(?:href|src)\s*=\s*["']([^"']*)["']/gi)) targets.push(m[1]!)
  return targets
}

/** Addresses GitHub turns into links by themselves (`https://…`, `www.…`) in the prose. */
export function bareUrls(markdown: string): string[] {
  return [...prose(markdown).matchAll(/\b(?:[a-z][a-z0-9+.-]*:\/\/|www\.)[^\s)>\]]*/gi)].map((m) => m[0])
}
