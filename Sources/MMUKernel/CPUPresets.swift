/// The presets `--cpu` offers. Every value is cited in docs/cost-model.md
/// (section "Presets"); the tags in the comments name the sources there.
extension CPUPreset {
    public static let all: [CPUPreset] = [skylake, icelake, zen3, zen4]

    /// Intel Skylake (client/server core, 2015): the defaults.
    public static let skylake = CPUPreset(
        name: "skylake", summary: "Intel Skylake core (the defaults)", gigahertz: 3.0,
        settings: defaults)

    /// Placeholders until cited: same as Skylake (see docs/cost-model.md).
    public static let icelake = CPUPreset(
        name: "icelake", summary: "Intel Ice Lake core", gigahertz: 3.0, settings: defaults)
    public static let zen3 = CPUPreset(
        name: "zen3", summary: "AMD Zen 3 core", gigahertz: 3.5, settings: defaults)
    public static let zen4 = CPUPreset(
        name: "zen4", summary: "AMD Zen 4 core", gigahertz: 3.5, settings: defaults)

    /// Every preset key at its default value.
    static var defaults: [(key: String, value: String)] {
        let configuration = Configuration()
        return presetKeys.compactMap { key in configuration.value(of: key).map { (key, $0) } }
    }
}
