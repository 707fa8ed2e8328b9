"""English: the reference catalogue. Every other language has the same keys (or falls back)."""

MESSAGES: dict[str, str] = {
    # -- bad input: one sentence, what was wrong and the right form ---------------------
    "err.line_too_long": "That message is too long for a command; the limit is {limit} characters.",
    "err.empty": "That was an empty command; type help to see what I can do.",
    "err.need_subcommand": "{group} needs one of: {subs} (for example: {group} help).",
    "err.unknown_subcommand": '"{sub}" is not part of {group}; use one of: {subs}.',
    "err.unknown_command_suggest": 'I don\'t know "{word}"; did you mean {guess}? '
                                   "Type help for the list.",
    "err.unknown_command": 'I don\'t know "{word}"; type help for the list of commands.',
    "err.named_twice": "{name} was given twice; give it once, as in: {usage}",
    "err.unknown_argument": "{name} is not an option here; the form is: {usage}",
    "err.extra_words": 'I didn\'t expect "{words}"; the form is: {usage}',
    "err.missing_argument": "{name} is missing; the form is: {usage}",
    "err.too_long": "{name} is {length} characters; the limit is {limit}.",
    "err.not_a_number": '{name} must be a whole number, not "{value}"; the form is: {usage}',
    "err.out_of_range": "{name} {value} is out of range; use a number from {minimum} "
                        "to {maximum}.",
    "err.mood_range": "mood {value} is out of range; use a number from 1 to 5 "
                      "(1 is awful, 5 is great).",
    "err.mood_word": 'mood "{value}" is not one I know; use 1 to 5 or a word like {words}.',
    "err.bad_choice": '{name} "{value}" is not one of the choices; use one of: {choices}.',
    "err.bad_bool": '{name} "{value}" should be yes or no, as in {name}:yes.',
    "err.timezone_suggest": 'timezone "{value}" is not a known timezone; try {guess}.',
    "err.timezone": 'timezone "{value}" is not a known timezone; try one like Europe/Berlin.',
    "err.bad_member": '{name} "{value}" should name a member, as in @alex.',
    "err.internal": "Something went wrong on my side and nothing was changed; please try "
                    "again in a moment.",
    "err.room_only": "{command} belongs in the circle's room, not in a direct message.",
    "err.dm_only": "{command} belongs in your direct conversation with me, not in the room.",
    "err.no_circle_here": "There is no circle here yet; a steward can start one with: "
                          "circle setup name:\"Our circle\" timezone:Europe/Berlin",
    "err.not_member": "You're not a member of {circle} yet; type join in its room first.",
    "err.not_steward": "Only a steward can use {command}; ask your circle's steward.",
    "err.unknown_circle": '"{name}" is not one of your circles; yours are: {names}.',
    "err.no_circles": "You're not in a circle yet; type join in a circle's room first.",
    "err.which_circle": "You're in several circles ({names}); add circle:\"Name\" to say which.",
    "err.circle_exists": "This room already has a circle, {name}; use circle settings to "
                         "change it.",
    "err.crisis_empty": "crisis_resources needs at least one entry; separate entries with ;",
    "err.give_up_before_wave": "give_up_minutes ({give_up}) must be at least wave_minutes "
                               "({wave}).",
    # -- circles -----------------------------------------------------------------------
    "circle.created_post": "Welcome to {name}. This circle keeps time in {timezone}. "
                           "Type join to become a member, help to see what I can do.",
    "circle.created_reply": "{name} is set up here ({timezone}). You're its first member and "
                            "its steward until service roles rotate.",
    "circle.info_head": "{name} · timezone {timezone} · language {language}",
    "circle.info_members": "Members: {count}",
    "circle.info_next_meeting_none": "Next meeting: none scheduled",
    "circle.info_steward": "Steward: {names}",
    "circle.info_steward_room_admins": "the room's admins",
    "circle.settings_changed": "Changed: {names}.",
    "circle.settings_head": "Settings of {name}:",
    "join.already": "You're already a member of {name}.",
    "join.room_post": "{name} joined {circle}. Welcome!",
    "join.reply": "Welcome to {name}. I've sent you a direct message with how things work here.",
    "leave.reply": "You've left {name}. Your check-ins are no longer linked to you; "
                   "you're welcome back any time.",
    "pact.default": "The pact of {name}: we speak for ourselves; what is shared here stays "
                    "here; we listen without fixing; anyone may pass; we repair harm when it "
                    "happens; service rotates and no one is in charge of anyone.",
    "pact.accept_hint": "If it speaks to you, you can type pact accept; it is never required.",
    "pact.accepted": "Thank you. You can read the pact again any time with pact.",
    "pact.edited_post": "The circle's pact has been updated; type pact to read it.",
    "pact.edited": "The pact is updated.",
    # -- onboarding --------------------------------------------------------------------
    "onboarding.welcome": "Welcome to {name}. Everything here is an offer, nothing is "
                          "required.\n"
                          "The pact: {pact}\n"
                          "Check-ins: type checkin with a mood from 1 to 5 and a few words; "
                          "add visibility:private to keep it to yourself, or anonymous:yes to "
                          "share it without your name. Private check-ins belong here, in this "
                          "direct conversation.\n"
                          "A mentor: a more experienced member can walk alongside you when "
                          "you'd like one.\n"
                          "The lifeline: peers, not professionals, who can be reached when "
                          "things are hard.\n"
                          "I'll check in gently on day 3 and day 7; type followups off to skip "
                          "that.",
    "onboarding.day3": "Hi from {name}. How are the first days going? No need to answer; "
                       "a checkin or a question in the room is always welcome.",
    "onboarding.day7": "A week in {name}. If you'd like a mentor or want to try a check-in, "
                       "type help. Either way, we're glad you're here.",
    "onboarding.followups_on": "Follow-up messages from {name} are on.",
    "onboarding.followups_off": "No more follow-up messages from {name}.",
    # -- check-ins ---------------------------------------------------------------------
    "checkin.someone": "someone",
    "checkin.room_post": "{who} checked in{detail}",
    "checkin.mood": "{mood}/5",
    "checkin.reply_circle": "Checked in; the circle can see it.",
    "checkin.reply_circle_anon": "Checked in anonymously; the circle sees it without your name.",
    "checkin.reply_mentor": "Checked in for your mentor only; until you have a mentor, only "
                            "you can see it.",
    "checkin.reply_private": "Checked in privately, in your journal; only you can see it.",
    "checkins.head_today": "Check-ins in {name} today:",
    "checkins.head_week": "Check-ins in {name} this week:",
    "checkins.none": "No check-ins to show yet.",
    "checkins.you": "you",
    "checkins.tag_private": "private",
    "checkins.tag_mentor": "for your mentor",
    "checkins.tag_anonymous": "anonymous",
    # -- help and guidance ---------------------------------------------------------------
    "help.head": "What I can do (type help <command> for more):",
    "help.tail": "Words go in order, or by name as key:value; quote text with spaces.",
    "help.where_room": "Use it in the circle's room.",
    "help.where_dm": "Use it in your direct conversation with me.",
    "help.where_any": "Use it in the circle's room or in a direct message.",
    "help.help": "show the commands, or how to use one",
    "help.think": "the THINK card, before you speak",
    "help.step": "the circle's text for a step (or the step of the week)",
    "help.circle.setup": "start a circle in this room",
    "help.circle.info": "members, next meeting, who serves",
    "help.circle.settings": "see or change the circle's settings (stewards)",
    "help.join": "become a member of this room's circle",
    "help.leave": "leave the circle; your check-ins stop being linked to you",
    "help.pact.show": "read the circle's pact",
    "help.pact.accept": "say the pact speaks to you (never required)",
    "help.pact.edit": "change the pact (stewards)",
    "help.checkin": "share how you are: a mood 1-5 and a note, for the circle, your mentor "
                    "or only you",
    "help.checkins": "the check-ins you may see, today or this week",
    "help.followups": "turn the day-3 and day-7 follow-up messages on or off",
    "think.card": "Before you speak, THINK: is it True? Helpful? Inspiring? Necessary? Kind?",
    "step.of_week": "Step of the week, {n}: {text}",
    "step.one": "Step {n}: {text}",
    "step.all_head": "The steps, in this circle's words:",
    "step.1": "We name our limits, personal and structural, without shame.",
    "step.2": "We trust that the collective holds more wisdom than any one of us.",
    "step.3": "We take shared responsibility for the well-being of our movement.",
    "step.4": "We take an honest inventory of harms we have caused, alone and together.",
    "step.5": "We name those harms to peers we trust.",
    "step.6": "We become ready to change the patterns behind them.",
    "step.7": "We ask the collective to help us clear what blocks us.",
    "step.8": "We list the people and groups we have harmed.",
    "step.9": "We make direct repair where it is safe and possible.",
    "step.10": "We keep taking inventory and admit mistakes promptly.",
    "step.11": "We practise reflection and attunement, to each other and ourselves.",
    "step.12": "We carry this forward, helping newer members grow in relational integrity.",
    # -- availability ----------------------------------------------------------------------
    "err.snooze_too_long": "A snooze can last at most 90 days; for longer, use available off.",
    "err.snooze_until": '"{value}" is not a time I understand; use a duration like 8h or 2d, '
                        "a time like 07:00, or a date like 2026-12-01.",
    "available.no_windows_hint": "You have no windows yet, so no page will reach you; set them "
                                 "like: available set mon-fri 21:00-02:00, sat-sun any",
    "available.test_page": "Test page from {circle}: this is how a lifeline page will reach "
                           "you. Nothing to do now.",
    "available.off": "You're no longer reachable for lifeline pages. Thank you for the time "
                     "you were.",
    "available.snoozed": "Snoozed until {until} ({tz}): no pages until then.",
    "available.never_set": "You haven't set up availability yet. To be reachable for the "
                           "lifeline: available set mon-fri 21:00-02:00, sat-sun any",
    "available.state_on": "on",
    "available.state_off": "off",
    "available.yes": "yes",
    "available.no": "no",
    "available.summary": "Lifeline availability: {state}; windows: {windows} ({tz}); "
                         "emergency pages outside them: {emergency}.",
    "available.now_yes": "Right now a page could reach you.",
    "available.now_no": "Right now no page would reach you.",
    # -- lifeline ------------------------------------------------------------------------------
    "lifeline.resources_head": "Peers are not professionals. If you are in danger now, "
                               "call your local emergency number. Crisis lines:",
    "lifeline.no_circle": "You're not in a circle yet, so I can't page anyone for you; "
                          "join a circle's room first.",
    "lifeline.join_first": "You're not a member of {circle} yet, so I can't page anyone for "
                           "you; type join in its room to become one.",
    "lifeline.still_open": "Your request #{id} is still open and I'm still with it; anything "
                           "you add goes only to the peer who takes it.",
    "lifeline.too_many": "You've reached today's number of requests, so I won't page again "
                         "now; please use the lines above, and know it's okay to reach out.",
    "lifeline.room_notice": "{name} asked the circle for a peer to talk to. If you can be "
                            "there, watch your direct messages.",
    "lifeline.finding": "Finding someone for you now (request #{id}). I'll tell you here who "
                        "is coming. You can stop it any time with call cancel.",
    "lifeline.seen_late": "I only just saw your call from {sent} (I was offline), sorry. Do "
                          "you still need someone? Type call again and I'll start paging at "
                          "once.",
    "lifeline.chose_circle": " You're in several circles; I'm asking in {circle}, where most "
                             "peers are reachable now.",
    "lifeline.none_reachable_reply": "No one is reachable right now; I've sent you the "
                                     "resources again. You are not alone in this.",
    "lifeline.page": "Lifeline page #{id} from {circle}: {name} is looking for a peer to talk "
                     "to ({time} your time). Reply ack {id} if you'll take it, or decline {id} "
                     "if you can't right now.",
    "lifeline.page_emergency": "Emergency lifeline page #{id} from {circle}: {name} is "
                               "looking for a peer and no one else is reachable ({time} your "
                               "time). Reply ack {id} if you'll take it, or decline {id}.",
    "lifeline.fallback": "I couldn't reach a peer for request #{id} yet. Please don't wait "
                         "for us: if you are in immediate danger, call your local emergency "
                         "number. If someone says yes later, I'll still tell you.",
    "lifeline.fallback_notice": "A lifeline request in {circle} found no one reachable. The "
                                "person has been given the crisis resources. No details are "
                                "shared; being reachable is how to help.",
    "lifeline.no_open_page": "You have no open lifeline page; nothing changed.",
    "lifeline.which_page": "You have several open pages ({ids}); say which, as in {verb} "
                           "{first}.",
    "lifeline.not_paged": "You weren't paged for request #{id}; nothing changed.",
    "lifeline.claimed_requester_gone": "Thank you. The person who asked has since left the "
                                       "circle.",
    "lifeline.coming": "{name} is coming. Reach them at {contact}. I'll check in {minutes} "
                       "minutes from now; type call connected once you've talked.",
    "lifeline.note_is": "They wrote: “{note}”.",
    "lifeline.note_added": "Request #{id}: they added: “{note}”.",
    "lifeline.no_note": "They didn't leave a note.",
    "lifeline.you_took_it": "Thank you for taking it. Please reach {name} now at {contact}. "
                            "{note} Peers refer, they don't assess; if they're in danger, "
                            "share these: {resources}",
    "lifeline.already_claimed": "Thank you: {name} already has request #{id}, so nothing "
                                "changed.",
    "lifeline.already_closed": "Request #{id} has closed; thank you for answering.",
    "lifeline.page_covered": "Lifeline page #{id}: someone's on it, thank you.",
    "lifeline.page_closed": "Lifeline page #{id}: no longer needed, thank you.",
    "lifeline.decline_noted_closed": "Thanks; that request is already taken care of.",
    "lifeline.declined": "Thanks for saying so; I'll ask someone else. Take care of yourself.",
    "lifeline.nothing_open": "You have no open lifeline request; nothing changed.",
    "lifeline.cancelled_to_claimer": "Request #{id} was cancelled by the person who asked. "
                                     "Thank you for being there.",
    "lifeline.cancelled": "Cancelled. I've told anyone I paged. Reach out again any time.",
    "lifeline.resolved": "Resolved. Thank you both. I'll check in gently tomorrow unless you "
                         "said followup:no.",
    "lifeline.connected_already": "You're already marked as connected.",
    "lifeline.not_claimed_yet": "No one has taken the request yet, so there's no one to be "
                                "connected with; I'm still paging.",
    "lifeline.connected": "Good: marked as connected. Type call resolve when you're done.",
    "lifeline.connected_question": "Did you connect (request #{id})? Type call connected if "
                                   "you have. If not, I'll start looking for someone else in a "
                                   "few minutes.",
    "lifeline.lapsed_to_claimer": "No confirmation for request #{id}, so I've asked others "
                                  "too. No blame: thank you for saying yes.",
    "lifeline.lapsed_to_requester": "I haven't heard that you connected (request #{id}), so "
                                    "I'm finding someone else now.",
    "lifeline.followup": "Checking in after yesterday. How are you today? No need to answer; "
                         "{circle} is here.",
    "report.head": "Lifeline in {name}, last {days} days: {n} requests.",
    "report.first_page": "Time to first page: p50 {p50}, p90 {p90} ({n} requests).",
    "report.claim": "Time to claim: p50 {p50}, p90 {p90} ({n} requests).",
    "report.connected": "Time to connected: p50 {p50}, p90 {p90} ({n} requests).",
    "report.fallback": "Fallback rate: {rate}% ({count} requests reached no one in time).",
    "report.pages": "Pages per request: {per}.",
    "report.gaps": "Coverage gaps: {hours} hours per week with no reachable member "
                   "(by today's availability).",
    "report.late": "Watchdog: {count} lifeline timers fired more than 2 minutes late.",
    "help.available.show": "your lifeline availability, and whether a page could reach you now",
    "help.available.set": "be reachable in weekly windows, e.g. mon-fri 21:00-02:00, sat-sun "
                          "any",
    "help.available.on": "be reachable again (sends you a test page)",
    "help.available.off": "stop being reachable",
    "help.available.snooze": "no pages for a while: 8h, 07:00, or a date",
    "help.call.open": "ask for a peer to talk to, now; add a note only the peer will see",
    "help.call.cancel": "you no longer need someone",
    "help.call.resolve": "close your request (followup:no skips tomorrow's check-in)",
    "help.call.connected": "say that you and your peer have talked",
    "help.ack": "I'll take it: answer a lifeline page",
    "help.decline": "can't right now: pass a lifeline page on",
    "help.lifeline.report": "how the lifeline is doing in this circle, never per person",
    # -- Matrix-only sentences -------------------------------------------------------------------
    "matrix.room_saw_it": "I couldn't remove your message from the room, so the room saw what "
                          "you typed; next time you can type it here, in our direct room.",
    "matrix.no_direct_room": "I couldn't open a direct room with you; invite me to one and "
                             "type your command there.",
    "matrix.undecryptable": "I couldn't read an encrypted message here (I don't have its key "
                            "yet). I've asked for it; if I don't answer soon, please send it "
                            "again.",
    # -- pending: merged into the .po catalogues
    'err.name_empty': 'A name needs at least one visible letter; try name:"Riverbend circle".',
    'err.bad_setting': "{name} can't be set that way ({problem}); type circle settings to see the current values.",
    'err.mood_whole': 'mood {value} should be a whole number from 1 to 5 (1 is awful, 5 is great), as in checkin 3 tired.',
    'help.args_head': 'Options:',
    'action.ack': "I'll take it",
    'action.decline': "Can't right now",
    'circle.info_head': '{name}',
    'checkin.reply_circle_from_dm': "Checked in; it's posted in {circle}'s room for the circle to see.",
    'checkin.call_exists': "That sounds like a hard day. If you'd like a peer to talk to, type call and I'll find someone.",
    'lifeline.call_failed': "Something went wrong on my side and I couldn't open your request; please type call again in a moment.",
    'lifeline.emergency': 'If you are in immediate danger, call your local emergency number.',
    'lifeline.fallback_notice_unanswered': 'A lifeline request in {circle} was paged but no one could answer in time. The person has been given the crisis resources. No details are shared; being reachable is how to help.',
    'lifeline.resolved_untaken': "Closed request #{id}; no one had taken it yet, and no one more will be paged. I'll check in gently tomorrow unless you said followup:no.",
    'lifeline.resolved_to_claimer': 'Request #{id} is resolved. Thank you for being there.',
    'lifeline.resolved_by_claimer': "{name} marked request #{id} as resolved. I'll check in gently tomorrow; type call resolve followup:no if you'd rather I didn't.",
    'lifeline.resolved_claimer': "Resolved. Thank you for being there; I've told them.",
    'lifeline.followup_off': 'Okay, no follow-up message tomorrow.',
    'lifeline.connected_other': "Request #{id}: you're both marked as connected. Thank you.",
    'arg.step.n': 'which step, 1 to 12',
    'arg.checkin.mood': '1 (awful) to 5 (great), or a word like low or good',
    'arg.checkin.note': 'a few words, if you like',
    'arg.checkin.visibility': 'circle (everyone), mentor, or private (your journal)',
    'arg.checkin.anonymous': 'yes to post without your name',
    'arg.available.windows': 'when you can be paged, e.g. mon-fri 21:00-02:00, sat-sun any',
    'arg.available.emergency': 'yes to be asked outside your windows when no one else is reachable',
    'arg.call.note': "what's going on; only the peer who takes it sees this",
    'arg.call.room': 'yes to also tell the room you asked (never the note)',
    'arg.call.followup': 'no: no gentle message tomorrow',
    'setting.step_of_week': 'the step meeting rounds use as their prompt (0: none)',
    'setting.name': "the circle's name",
    'setting.timezone': "the circle's timezone, e.g. Europe/Berlin",
    'setting.language': "the circle's language (en or es)",
    'setting.followups': 'on: newcomers get gentle messages on day 3 and day 7',
    'setting.retention_days': 'check-in notes are deleted after this many days',
    'setting.lifeline_note_days': 'lifeline notes are deleted this many days after the request closes',
    'setting.wave_size': 'members paged per wave',
    'setting.wave_minutes': 'minutes before the next wave',
    'setting.give_up_minutes': 'minutes before the fuller message with the crisis resources',
    'setting.connect_minutes': 'minutes after a claim before both are asked "connected?"',
    'setting.max_requests_per_day': 'requests one person may open per day (resources are never withheld)',
    'setting.pages_per_15_minutes': 'pages one responder gets at most per 15 minutes',
    'setting.pages_per_night': 'pages one responder gets at most per night (12 hours)',
    'setting.emergency_wave': 'yes: a last wave to members who accept emergency pages',
    'setting.crisis_resources': 'crisis lines shown with every request, separated by ;',
    'lifeline.resources_head': 'Peers here are friends, not professionals. If you need help sooner, these are there now:',
    'lifeline.finding': "I'm finding someone for you now (request #{id}) and will tell you here who is coming. call cancel stops it.",
    'lifeline.fallback': "I couldn't reach a peer for request #{id} yet, and I'm sorry. If someone says yes later, I'll tell you here. Please don't wait for us:",
    'lifeline.you_took_it': 'Thank you for taking it. Please reach {name} now at {contact}. {note} Listen and stay with them; if they are in danger, point them to: {resources}',
    'lifeline.resolved': "Resolved. Thank you both. I'll check in gently tomorrow unless you said followup:no.",
}
