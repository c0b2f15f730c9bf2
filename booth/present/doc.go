// Package present provides what the booth shows and says of its state: the screen
// ([Screen], from a [booth.Snapshot], the booth's cached appointments and the time to a
// [screen.View]), the status light ([Light], to a [light.Status]) and the spoken prompts
// ([Prompts], the messages for a change from one snapshot to the next). The mappings are
// pure; [Screen.Follow], [FollowLight] and [Announce] keep a display, a light and a voice
// following the booth's snapshots until their context is done. cmd/boothd opens the
// devices and runs these loops; the rules live here.
//
// The rules, as a patient or a member of staff sees them:
//   - A fault (a missing camera, microphone or speaker) is shown only while the booth is
//     idle or in a join window, and never on the clinic-room appliance: never over a
//     waiting patient or a call, which go on as well as they can. The light shows the
//     fault in every state.
//   - Offline while in an appointment's window, waiting or in a call shows Reconnecting;
//     offline and idle still shows the next appointment from the cache.
//   - Help shows once the switchboard confirmed staff were told (Snapshot.Help), except
//     over a call; it is spoken once, then.
//   - The waiting time counts from when the booth entered the waiting room, and a call
//     that drops back to it keeps counting from the first arrival.
//   - Mute is the booth's: the screen and the light show Snapshot.Muted, which the booth
//     changes only once the call's microphone did.
//   - The join mode shown is the one in force (the switchboard may change it); once End
//     was held in an auto-join window, only the green button joins, and the screen says so.
//   - Prompts speak changes, never the state found at subscription; "Reconnecting" alone
//     when the link drops in a waiting room or a call.
//
// The screens are described in docs/screens.md, the light's patterns in package light.
package present
