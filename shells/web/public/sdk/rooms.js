// What the client knows of each room: its presence list and its phases.

/** Phases kept per room: the current one and those announced ahead. */
const PHASES_KEPT = 8;

export class Rooms {
  constructor() {
    /** room → {members: string[], partial: string[]|null, phases: Phase[]} */
    this.rooms = new Map();
  }

  room(name) {
    let r = this.rooms.get(name);
    if (!r) {
      r = { members: [], partial: null, phases: [] };
      this.rooms.set(name, r);
    }
    return r;
  }

  /**
   * Applies a presence event; returns the complete list when it changed
   * (a snapshot spanning frames completes on its last frame), else null.
   */
  presence(name, event) {
    const r = this.room(name);
    switch (event.kind) {
      case 'snapshot': {
        const partial = (r.partial ?? []).concat(event.members);
        if (event.more) {
          r.partial = partial;
          return null;
        }
        r.partial = null;
        r.members = partial;
        return r.members;
      }
      case 'join':
        if (r.members.includes(event.member)) return null;
        r.members = r.members.concat([event.member]);
        return r.members;
      case 'leave':
        if (!r.members.includes(event.member)) return null;
        r.members = r.members.filter((m) => m !== event.member);
        return r.members;
      default:
        return null;
    }
  }

  /** Records a phase announcement, replacing one of the same round and index. */
  phase(name, phase) {
    const r = this.room(name);
    const rest = r.phases.filter((p) => !(p.round === phase.round && p.index === phase.index));
    rest.push(phase);
    rest.sort((a, b) => a.startsAt - b.startsAt);
    r.phases = rest.slice(-PHASES_KEPT);
  }

  members(name) {
    return this.rooms.get(name)?.members ?? [];
  }

  /** The phase in progress at server time `t`, else the latest begun, else the next announced. */
  phaseAt(name, t) {
    const phases = this.rooms.get(name)?.phases ?? [];
    if (phases.length === 0) return null;
    if (t === null) return phases[phases.length - 1];
    const begun = phases.filter((p) => p.startsAt <= t);
    const current = begun.find((p) => t < p.endsAt);
    return current ?? begun[begun.length - 1] ?? phases[0];
  }

  /** Announced phases of the room, earliest first. */
  phases(name) {
    return this.rooms.get(name)?.phases ?? [];
  }

  /** A new session: the server sends fresh snapshots and phases. */
  reset() {
    for (const r of this.rooms.values()) r.partial = null;
  }
}
