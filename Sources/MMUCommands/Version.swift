/// mmusim's version: `mmusim --version` prints `mmusim VERSION`. The one place it is written.
public let version = "0.2.0"
