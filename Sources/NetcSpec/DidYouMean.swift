/// Suggests the closest known name for a misspelt one, as compilers do.
enum DidYouMean {
    /// The candidate nearest to `word`, if it is close enough to be what the user meant.
    static func suggest(_ word: String, from candidates: some Sequence<String>) -> String? {
        let w = Array(word.lowercased())
        var best: (String, Int)?
        for c in candidates {
            let d = distance(w, Array(c.lowercased()))
            if d < (best?.1 ?? Int.max) { best = (c, d) }
        }
        guard let (name, d) = best, d <= max(1, min(w.count, name.count) / 3) else { return nil }
        return name
    }

    /// `help:` text: the suggestion, or the list of valid names when nothing is close.
    static func help(_ word: String, from candidates: [String], what: String) -> String {
        if let s = suggest(word, from: candidates) { return "did you mean '\(s)'?" }
        return "\(what) are: " + candidates.sorted().joined(separator: ", ")
    }

    /// Levenshtein distance, counting a swap of neighbours as one edit.
    static func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var d = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }
}
