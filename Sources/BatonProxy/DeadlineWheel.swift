import NIOCore

/// Something with a deadline on a `DeadlineWheel`: the wheel calls `deadlineReached()` once
/// the tick of its slot comes round. A class to inherit from, so that the wheel's lists run
/// through the members themselves and a member costs no allocation to add, move or remove.
class DeadlineWheelMember {
    fileprivate var wheelNext: DeadlineWheelMember?
    fileprivate unowned(unsafe) var wheelPrevious: DeadlineWheelMember?
    /// Its slot, or -1 while it is on no wheel.
    fileprivate var wheelSlot = -1
    /// When the wheel was asked to call it.
    fileprivate(set) var wheelDue = NIODeadline.distantFuture

    var onWheel: Bool { wheelSlot >= 0 }

    /// The deadline asked for has come (up to one tick late).
    func deadlineReached() {}
}

/// The deadlines of one event loop's connections (a client's header, body and idle deadlines,
/// an exchange's response deadline), checked every `tick` by one task of the loop while any
/// is set.
///
/// A task scheduled with the loop per connection kept about 0.7 KiB for every idle keep-alive
/// connection (the task, its promise and future, its place in the loop's queue), to close it
/// a minute later. Here a connection is a link in the list of a slot: setting, moving or
/// clearing its deadline allocates nothing. Deadlines are met to within a tick, which is far
/// below any timeout a user sets.
final class DeadlineWheel {
    static let tick = TimeAmount.milliseconds(100)
    /// 25.6 s of slots; a later deadline waits in the last one and is placed again from there.
    private static let slotCount = 256

    private let eventLoop: any EventLoop
    private var slots = [DeadlineWheelMember?](repeating: nil, count: DeadlineWheel.slotCount)
    /// The slot of the tick that fired last.
    private var cursor = 0
    private var count = 0
    private var ticking = false

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Calls `member` back by `due` at the latest: moved only when `due` is earlier than the
    /// time it is on the wheel for. A later deadline is left for the member to find when the
    /// earlier one comes (it sets itself again then), so a request path that pushes its
    /// deadline later moves nothing.
    func setNoLater(_ member: DeadlineWheelMember, at due: NIODeadline) {
        if !member.onWheel || due < member.wheelDue { set(member, at: due) }
    }

    /// Calls `member` back at `due` (rounded up to a tick), instead of when it asked before.
    func set(_ member: DeadlineWheelMember, at due: NIODeadline) {
        if member.onWheel { unlink(member) }
        member.wheelDue = due
        let now = NIODeadline.now()
        let ticks = due <= now ? 1 : Int((due - now).nanoseconds / Self.tick.nanoseconds) + 1
        let slot = (cursor + min(ticks, Self.slotCount - 1)) % Self.slotCount
        member.wheelSlot = slot
        member.wheelNext = slots[slot]
        slots[slot]?.wheelPrevious = member
        member.wheelPrevious = nil
        slots[slot] = member
        count += 1
        if !ticking { scheduleTick() }
    }

    /// Takes `member` off the wheel: it will not be called. The tick already scheduled still
    /// comes, and schedules no next one if the wheel is empty then: cancelling it here and
    /// scheduling it again for the next member cost a short connection about 5k instructions.
    func clear(_ member: DeadlineWheelMember) {
        guard member.onWheel else { return }
        unlink(member)
    }

    private func unlink(_ member: DeadlineWheelMember) {
        if let previous = member.wheelPrevious {
            previous.wheelNext = member.wheelNext
        } else {
            slots[member.wheelSlot] = member.wheelNext
        }
        member.wheelNext?.wheelPrevious = member.wheelPrevious
        member.wheelNext = nil
        member.wheelPrevious = nil
        member.wheelSlot = -1
        count -= 1
    }

    private func scheduleTick() {
        ticking = true
        eventLoop.assumeIsolated().scheduleTask(in: Self.tick) { [self] in
            ticking = false
            advance()
        }
    }

    /// One tick: the members of the next slot are due, or placed again if their deadline is
    /// further (one set beyond the wheel's span).
    private func advance() {
        cursor = (cursor + 1) % Self.slotCount
        let now = NIODeadline.now()
        while let member = slots[cursor] {
            unlink(member)
            if member.wheelDue > now {
                set(member, at: member.wheelDue)
            } else {
                member.deadlineReached()
            }
        }
        if count > 0 && !ticking { scheduleTick() }
    }
}
