import MMUHardware

/// Which VM a guest's kernel runs in.
public struct GuestIdentity: Hashable, Sendable {
    /// The VM's index in the hypervisor's table.
    public let vm: Int
    public let controls: VirtualMachineControls
    public init(vm: Int, controls: VirtualMachineControls) {
        self.vm = vm
        self.controls = controls
    }
}

/// A guest kernel's stores to its own (guest-physical) memory: the same
/// kernel code as the host's, its frames reached through the VM's nested
/// tables (`Machine.softwareView`). A store to a frame the nested tables do
/// not let it write is an EPT violation like any other: the hypervisor
/// backs the frame (host demand-zero) or breaks its sharing (host
/// copy-on-write) before the store lands, charged on the core the kernel
/// runs on.
extension Kernel {
    /// Before kernel code writes `frame` of its own physical memory (no-op on the host).
    @inline(__always)
    mutating func prepareWrite(_ frame: FrameNumber, on core: CoreID?, machine: inout Machine) {
        guard let guest else { return }
        prepareGuestWrite(frame, guest, on: core, machine: &machine)
    }

    @inline(never)
    mutating func prepareGuestWrite(_ frame: FrameNumber, _ guest: GuestIdentity, on core: CoreID?, machine: inout Machine) {
        let backing = machine.hostFrame(of: frame)
        if let backing, backing.writable { return }
        guard !lentHost.isEmpty else { return }
        let violation = EPTViolation(kind: .write, guestPhysical: frame.rawValue << Paging.pageShift,
                                     guestLinear: VirtualAddress(0), isFinalAddress: true, wasPresent: backing != nil)
        if !lentHost[0].resolveNestedFault(vm: guest.vm, guestFrame: frame, write: true, violation: violation,
                                           on: core, machine: &machine) {
            hostOutOfMemory = true
        }
    }
}
