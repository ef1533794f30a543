/// The hardware of the emulated machine: physical memory and its cores.
public struct Machine: Sendable {
    public var memory: PhysicalMemory
    public var cores: [Core]

    public init(frames: Int, cores: Int, geometry: TLBGeometry, costs: CostModel, pcidEnabled: Bool, logEvents: Bool = false) {
        memory = PhysicalMemory(frameCount: frames)
        self.cores = (0..<cores).map {
            Core(id: CoreID($0), geometry: geometry, costs: costs, pcidEnabled: pcidEnabled, logEvents: logEvents)
        }
    }
}
