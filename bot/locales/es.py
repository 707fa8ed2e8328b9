"""Spanish (neutral, tú): same keys and {placeholders} as en.py; command words stay English."""

MESSAGES: dict[str, str] = {
    "err.line_too_long": "Ese mensaje es demasiado largo para un comando; el límite es de {limit} "
                         "caracteres.",
    "err.empty": "Ese comando estaba vacío; escribe help para ver lo que puedo hacer.",
    "err.need_subcommand": "{group} necesita una de estas opciones: {subs} (por ejemplo: {group} "
                           "help).",
    "err.unknown_subcommand": '"{sub}" no forma parte de {group}; usa una de estas opciones: '
                              "{subs}.",
    "err.unknown_command_suggest": 'No conozco "{word}"; ¿querías decir {guess}? Escribe help '
                                   "para ver la lista.",
    "err.unknown_command": 'No conozco "{word}"; escribe help para ver la lista de comandos.',
    "err.named_twice": "{name} aparece dos veces; escríbelo una sola vez, así: {usage}",
    "err.unknown_argument": "{name} no es una opción válida aquí; la forma es: {usage}",
    "err.extra_words": 'No esperaba "{words}"; la forma es: {usage}',
    "err.missing_argument": "Falta {name}; la forma es: {usage}",
    "err.too_long": "{name} tiene {length} caracteres; el límite es {limit}.",
    "err.not_a_number": '{name} debe ser un número entero, no "{value}"; la forma es: {usage}',
    "err.out_of_range": "{name} {value} está fuera de rango; usa un número de {minimum} a "
                        "{maximum}.",
    "err.mood_range": "mood {value} está fuera de rango; usa un número del 1 al 5 (1 es muy mal, "
                      "5 es muy bien).",
    "err.mood_word": 'No conozco el mood "{value}"; usa un número del 1 al 5 o una palabra como '
                     "{words}.",
    "err.bad_choice": '{name} "{value}" no es una de las opciones; usa una de estas: {choices}.',
    "err.bad_bool": '{name} "{value}" debe ser yes o no, como en {name}:yes.',
    "err.timezone_suggest": 'timezone "{value}" no es una zona horaria conocida; prueba con '
                            "{guess}.",
    "err.timezone": 'timezone "{value}" no es una zona horaria conocida; prueba con una como '
                    "Europe/Berlin.",
    "err.bad_member": '{name} "{value}" debe nombrar a alguien del círculo, como @alex.',
    "err.internal": "Algo falló de mi lado y no se cambió nada; por favor, inténtalo de nuevo en "
                    "un momento.",
    "err.room_only": "{command} se usa en la sala del círculo, no en un mensaje directo.",
    "err.dm_only": "{command} se usa en tu conversación directa conmigo, no en la sala.",
    "err.no_circle_here": "Aquí todavía no hay ningún círculo; una persona de coordinación puede "
                          'crearlo con: circle setup name:"Nuestro círculo" timezone:Europe/Berlin',
    "err.not_member": "Todavía no formas parte de {circle}; primero escribe join en su sala.",
    "err.not_steward": "Solo una persona de coordinación puede usar {command}; pídeselo a quien "
                       "coordina tu círculo.",
    "err.unknown_circle": '"{name}" no es uno de tus círculos; los tuyos son: {names}.',
    "err.no_circles": "Todavía no estás en ningún círculo; primero escribe join en la sala de un "
                      "círculo.",
    "err.which_circle": 'Estás en varios círculos ({names}); añade circle:"Nombre" para indicar '
                        "cuál.",
    "err.circle_exists": "Esta sala ya tiene un círculo, {name}; usa circle settings para "
                         "cambiarlo.",
    "err.crisis_empty": "crisis_resources necesita al menos una entrada; separa las entradas con ;",
    "err.give_up_before_wave": "give_up_minutes ({give_up}) debe ser como mínimo igual a "
                               "wave_minutes ({wave}).",
    "circle.created_post": "{name} ya está en marcha. Este círculo usa la hora de {timezone}. "
                           "Escribe join para formar parte, o help para ver lo que puedo hacer.",
    "circle.created_reply": "{name} quedó listo aquí ({timezone}). Eres la primera persona del "
                            "círculo y quien lo coordina hasta que roten los roles de servicio.",
    "circle.info_head": "{name} · zona horaria {timezone} · idioma {language}",
    "circle.info_members": "Integrantes: {count}",
    "circle.info_next_meeting_none": "Próxima reunión: ninguna programada",
    "circle.info_steward": "Coordinación: {names}",
    "circle.info_steward_room_admins": "la administración de la sala",
    "circle.settings_changed": "Cambios: {names}.",
    "circle.settings_head": "Ajustes de {name}:",
    "join.already": "Ya formas parte de {name}.",
    "join.room_post": "{name} se unió a {circle}. ¡Le damos la bienvenida!",
    "join.reply": "Te damos la bienvenida a {name}. Te envié un mensaje directo que explica cómo "
                  "funcionan las cosas aquí.",
    "leave.reply": "Saliste de {name}. Tus check-ins ya no están vinculados a ti; puedes volver "
                   "cuando quieras.",
    "pact.default": "El pacto de {name}: cada quien habla por sí; lo que se comparte aquí, aquí "
                    "se queda; escuchamos sin intentar arreglar; cualquiera puede pasar; "
                    "reparamos el daño cuando ocurre; el servicio rota y nadie está a cargo de "
                    "nadie.",
    "pact.accept_hint": "Si te resuena, puedes escribir pact accept; nunca es obligatorio.",
    "pact.accepted": "Gracias. Puedes volver a leer el pacto cuando quieras con pact.",
    "pact.edited_post": "El pacto del círculo se actualizó; escribe pact para leerlo.",
    "pact.edited": "El pacto está actualizado.",
    "onboarding.welcome": "Te damos la bienvenida a {name}. Todo aquí es una oferta; nada es "
                          "obligatorio.\n"
                          "El pacto: {pact}\n"
                          "Check-ins: escribe checkin con un estado de ánimo del 1 al 5 y unas "
                          "palabras; añade visibility:private para guardarlo solo para ti, o "
                          "anonymous:yes para compartirlo sin tu nombre. Los check-ins privados "
                          "van aquí, en esta conversación directa.\n"
                          "Mentoría: alguien del círculo con más experiencia puede acompañarte "
                          "cuando lo desees.\n"
                          "La línea de apoyo: pares, no profesionales, a quienes puedes recurrir "
                          "cuando las cosas se ponen difíciles.\n"
                          "Te escribiré con cuidado el día 3 y el día 7; escribe followups off si "
                          "prefieres que no.",
    "onboarding.day3": "Hola desde {name}. ¿Cómo van los primeros días? No hace falta responder; "
                       "un checkin o una pregunta en la sala siempre se agradecen.",
    "onboarding.day7": "Una semana en {name}. Si quieres una persona mentora o probar un "
                       "check-in, escribe help. En cualquier caso, nos alegra que estés aquí.",
    "onboarding.followups_on": "Los mensajes de seguimiento de {name} están activados.",
    "onboarding.followups_off": "No habrá más mensajes de seguimiento de {name}.",
    "checkin.someone": "alguien",
    "checkin.room_post": "{who} hizo check-in{detail}",
    "checkin.mood": "{mood}/5",
    "checkin.reply_circle": "Check-in hecho; el círculo puede verlo.",
    "checkin.reply_circle_anon": "Check-in anónimo hecho; el círculo lo ve sin tu nombre.",
    "checkin.reply_mentor": "Check-in solo para tu persona mentora; mientras no tengas una, solo "
                            "tú puedes verlo.",
    "checkin.reply_private": "Check-in privado, en tu diario; solo tú puedes verlo.",
    "checkins.head_today": "Check-ins de hoy en {name}:",
    "checkins.head_week": "Check-ins de esta semana en {name}:",
    "checkins.none": "Todavía no hay check-ins que mostrar.",
    "checkins.you": "tú",
    "checkins.tag_private": "privado",
    "checkins.tag_mentor": "para tu persona mentora",
    "checkins.tag_anonymous": "anónimo",
    "help.head": "Lo que puedo hacer (escribe help <comando> para saber más):",
    "help.tail": "Las palabras van en orden, o por nombre como clave:valor; pon entre comillas el "
                 "texto con espacios.",
    "help.where_room": "Úsalo en la sala del círculo.",
    "help.where_dm": "Úsalo en tu conversación directa conmigo.",
    "help.where_any": "Úsalo en la sala del círculo o en un mensaje directo.",
    "help.help": "mostrar los comandos, o cómo usar uno",
    "help.think": "la tarjeta THINK, antes de hablar",
    "help.step": "el texto del círculo para un paso (o el paso de la semana)",
    "help.circle.setup": "crear un círculo en esta sala",
    "help.circle.info": "integrantes, próxima reunión, quién está de servicio",
    "help.circle.settings": "ver o cambiar los ajustes del círculo (coordinación)",
    "help.join": "formar parte del círculo de esta sala",
    "help.leave": "salir del círculo; tus check-ins dejan de estar vinculados a ti",
    "help.pact.show": "leer el pacto del círculo",
    "help.pact.accept": "decir que el pacto te resuena (nunca es obligatorio)",
    "help.pact.edit": "cambiar el pacto (coordinación)",
    "help.checkin": "compartir cómo estás: un ánimo del 1 al 5 y una nota, para el círculo, tu "
                    "persona mentora o solo para ti",
    "help.checkins": "los check-ins que puedes ver, de hoy o de esta semana",
    "help.followups": "activar o desactivar los mensajes de seguimiento de los días 3 y 7",
    "think.card": "Antes de hablar, THINK: ¿es verdad (True)? ¿Ayuda (Helpful)? ¿Inspira "
                  "(Inspiring)? ¿Hace falta (Necessary)? ¿Es amable (Kind)?",
    "step.of_week": "Paso de la semana, {n}: {text}",
    "step.one": "Paso {n}: {text}",
    "step.all_head": "Los pasos, con las palabras de este círculo:",
    "step.1": "Nombramos nuestros límites, personales y estructurales, sin vergüenza.",
    "step.2": "Confiamos en que el colectivo tiene más sabiduría que cualquier persona por sí "
              "sola.",
    "step.3": "Asumimos la responsabilidad compartida del bienestar de nuestro movimiento.",
    "step.4": "Hacemos un inventario honesto de los daños que hemos causado, por separado y en "
              "conjunto.",
    "step.5": "Nombramos esos daños ante pares de confianza.",
    "step.6": "Nos disponemos a cambiar los patrones que hay detrás de ellos.",
    "step.7": "Pedimos al colectivo que nos ayude a despejar lo que nos bloquea.",
    "step.8": "Hacemos una lista de las personas y los grupos a los que hemos hecho daño.",
    "step.9": "Reparamos directamente el daño allí donde es seguro y posible.",
    "step.10": "Seguimos haciendo inventario y reconocemos nuestros errores sin demora.",
    "step.11": "Practicamos la reflexión y la sintonía, con las demás personas y con nuestro "
               "propio interior.",
    "step.12": "Llevamos esto adelante, ayudando a quienes llegan después a crecer en integridad "
               "relacional.",
    "err.snooze_too_long": "Una pausa puede durar como máximo 90 días; para más tiempo, usa "
                           "available off.",
    "err.snooze_until": '"{value}" no es un momento que entienda; usa una duración como 8h o 2d, '
                        "una hora como 07:00 o una fecha como 2026-12-01.",
    "available.no_windows_hint": "Todavía no tienes franjas horarias, así que ningún aviso te "
                                 "llegará; configúralas así: available set mon-fri 21:00-02:00, "
                                 "sat-sun any",
    "available.test_page": "Aviso de prueba de {circle}: así te llegará un aviso de la línea de "
                           "apoyo. No tienes que hacer nada ahora.",
    "available.off": "La línea de apoyo ya no te enviará avisos. Gracias por el tiempo en que "
                     "estuviste disponible.",
    "available.snoozed": "En pausa hasta {until} ({tz}): no recibirás avisos hasta entonces.",
    "available.never_set": "Todavía no configuraste tu disponibilidad. Para que la línea de apoyo "
                           "pueda avisarte: available set mon-fri 21:00-02:00, sat-sun any",
    "available.state_on": "activada",
    "available.state_off": "desactivada",
    "available.yes": "sí",
    "available.no": "no",
    "available.summary": "Disponibilidad para la línea de apoyo: {state}; franjas: {windows} "
                         "({tz}); avisos de emergencia fuera de ellas: {emergency}.",
    "available.now_yes": "Ahora mismo un aviso podría llegarte.",
    "available.now_no": "Ahora mismo ningún aviso te llegaría.",
    "lifeline.resources_head": "Las personas pares no son profesionales. Si estás en peligro "
                               "ahora, llama al número de emergencias local. Líneas de crisis:",
    "lifeline.no_circle": "Todavía no estás en ningún círculo, así que no puedo avisar a nadie "
                          "por ti; primero escribe join en la sala de un círculo.",
    "lifeline.join_first": "Todavía no formas parte de {circle}, así que no puedo avisar a nadie "
                           "por ti; escribe join en su sala para unirte.",
    "lifeline.still_open": "Tu petición #{id} sigue abierta y sigo con ella; lo que añadas le "
                           "llegará solo a la persona par que la acepte.",
    "lifeline.too_many": "Ya llegaste al número de peticiones de hoy, así que no voy a avisar de "
                         "nuevo ahora; por favor, usa las líneas de arriba, y recuerda que está "
                         "bien pedir ayuda.",
    "lifeline.room_notice": "{name} pidió al círculo una persona par con quien hablar. Si puedes "
                            "estar ahí, revisa tus mensajes directos.",
    "lifeline.finding": "Estoy buscando a alguien para ti ahora mismo (petición #{id}). Te diré "
                        "aquí quién viene. Puedes detenerlo cuando quieras con call cancel.",
    "lifeline.seen_late": "Acabo de ver tu llamada de {sent} (estaba sin conexión), lo siento. "
                          "¿Todavía necesitas a alguien? Escribe call otra vez y empezaré a "
                          "avisar de inmediato.",
    "lifeline.chose_circle": " Estás en varios círculos; pregunto en {circle}, donde ahora hay "
                             "más pares disponibles.",
    "lifeline.none_reachable_reply": "Ahora mismo no hay nadie disponible; te envié de nuevo los "
                                     "recursos. No estás a solas con esto.",
    "lifeline.page": "Aviso #{id} de la línea de apoyo de {circle}: {name} busca una persona par "
                     "con quien hablar ({time} en tu hora). Responde ack {id} si lo aceptas, o "
                     "decline {id} si ahora no puedes.",
    "lifeline.page_emergency": "Aviso de emergencia #{id} de la línea de apoyo de {circle}: "
                               "{name} busca una persona par y no hay nadie más disponible "
                               "({time} en tu hora). Responde ack {id} si lo aceptas, o decline "
                               "{id}.",
    "lifeline.fallback": "Todavía no pude contactar con ninguna persona par para la petición "
                         "#{id}. Por favor, no nos esperes: si estás en peligro inmediato, llama "
                         "al número de emergencias local. Si alguien dice que sí más tarde, te lo "
                         "diré igualmente.",
    "lifeline.fallback_notice": "Una petición a la línea de apoyo en {circle} no encontró a nadie "
                                "disponible. La persona recibió los recursos de crisis. No se "
                                "comparten detalles; estar disponible es la forma de ayudar.",
    "lifeline.no_open_page": "No tienes ningún aviso abierto de la línea de apoyo; no cambió nada.",
    "lifeline.which_page": "Tienes varios avisos abiertos ({ids}); indica cuál, como en {verb} "
                           "{first}.",
    "lifeline.not_paged": "No recibiste aviso para la petición #{id}; no cambió nada.",
    "lifeline.claimed_requester_gone": "Gracias. La persona que pidió ayuda ya salió del círculo.",
    "lifeline.coming": "{name} viene en camino. Su contacto: {contact}. Te escribiré dentro de "
                       "{minutes} minutos; escribe call connected cuando hayan hablado.",
    "lifeline.note_is": "Escribió: “{note}”.",
    "lifeline.note_added": "Petición #{id}: añadió: “{note}”.",
    "lifeline.no_note": "No dejó ninguna nota.",
    "lifeline.you_took_it": "Gracias por aceptarlo. Por favor, contacta ahora con {name} en "
                            "{contact}. {note} Las personas pares derivan, no evalúan; si está en "
                            "peligro, comparte esto: {resources}",
    "lifeline.already_claimed": "Gracias: {name} ya tiene la petición #{id}, así que no cambió "
                                "nada.",
    "lifeline.already_closed": "La petición #{id} ya se cerró; gracias por responder.",
    "lifeline.page_covered": "Aviso #{id} de la línea de apoyo: alguien ya se está ocupando, "
                             "gracias.",
    "lifeline.page_closed": "Aviso #{id} de la línea de apoyo: ya no hace falta, gracias.",
    "lifeline.decline_noted_closed": "Gracias; esa petición ya está atendida.",
    "lifeline.declined": "Gracias por decirlo; se lo pediré a otra persona. Cuídate.",
    "lifeline.nothing_open": "No tienes ninguna petición abierta en la línea de apoyo; no cambió "
                             "nada.",
    "lifeline.cancelled_to_claimer": "La persona que pidió ayuda canceló la petición #{id}. "
                                     "Gracias por estar ahí.",
    "lifeline.cancelled": "Cancelada. Avisé a todas las personas a quienes había contactado. "
                          "Vuelve a pedir ayuda cuando quieras.",
    "lifeline.resolved": "Resuelta. Gracias a ambas partes. Mañana te escribiré con cuidado, "
                         "salvo que hayas indicado followup:no.",
    "lifeline.connected_already": "Ya consta que conectaron.",
    "lifeline.not_claimed_yet": "Nadie aceptó la petición todavía, así que aún no hay con quién "
                                "conectar; sigo avisando.",
    "lifeline.connected": "Bien: consta que conectaron. Escribe call resolve cuando terminen.",
    "lifeline.connected_question": "¿Lograste conectar (petición #{id})? Si es así, escribe call "
                                   "connected. Si no, en unos minutos empezaré a buscar a otra "
                                   "persona.",
    "lifeline.lapsed_to_claimer": "No hubo confirmación para la petición #{id}, así que también "
                                  "pregunté a otras personas. Sin culpa: gracias por decir que sí.",
    "lifeline.lapsed_to_requester": "No me llegó confirmación de que hayan conectado (petición "
                                    "#{id}), así que ahora estoy buscando a otra persona.",
    "lifeline.followup": "Te escribo después de lo de ayer. ¿Cómo estás hoy? No hace falta "
                         "responder; {circle} está aquí.",
    "report.head": "Línea de apoyo en {name}, últimos {days} días: {n} peticiones.",
    "report.first_page": "Tiempo hasta el primer aviso: p50 {p50}, p90 {p90} ({n} peticiones).",
    "report.claim": "Tiempo hasta que alguien acepta: p50 {p50}, p90 {p90} ({n} peticiones).",
    "report.connected": "Tiempo hasta conectar: p50 {p50}, p90 {p90} ({n} peticiones).",
    "report.fallback": "Tasa sin respuesta: {rate}% ({count} peticiones no llegaron a nadie a "
                       "tiempo).",
    "report.pages": "Avisos por petición: {per}.",
    "report.gaps": "Huecos de cobertura: {hours} horas por semana sin ninguna persona disponible "
                   "(según la disponibilidad de hoy).",
    "report.late": "Vigilancia: {count} temporizadores de la línea de apoyo se dispararon con más "
                   "de 2 minutos de retraso.",
    "help.available.show": "tu disponibilidad para la línea de apoyo, y si un aviso podría "
                           "llegarte ahora",
    "help.available.set": "estar disponible en franjas semanales, p. ej. mon-fri 21:00-02:00, "
                          "sat-sun any",
    "help.available.on": "volver a estar disponible (te envía un aviso de prueba)",
    "help.available.off": "dejar de estar disponible",
    "help.available.snooze": "sin avisos durante un tiempo: 8h, 07:00 o una fecha",
    "help.call.open": "pedir ahora una persona par con quien hablar; añade una nota que solo verá "
                      "esa persona",
    "help.call.cancel": "ya no necesitas a nadie",
    "help.call.resolve": "cerrar tu petición (followup:no omite el mensaje de mañana)",
    "help.call.connected": "decir que tú y tu par ya hablaron",
    "help.ack": "lo acepto: responder a un aviso de la línea de apoyo",
    "help.decline": "ahora no puedo: pasar un aviso de la línea de apoyo a otra persona",
    "help.lifeline.report": "cómo va la línea de apoyo en este círculo, nunca por persona",
    "matrix.room_saw_it": "No pude borrar tu mensaje de la sala, así que la sala vio lo que "
                          "escribiste; la próxima vez puedes escribirlo aquí, en nuestra sala "
                          "directa.",
    "matrix.no_direct_room": "No pude abrir una sala directa contigo; invítame a una y escribe "
                             "allí tu comando.",
    "matrix.undecryptable": "No pude leer aquí un mensaje cifrado (todavía no tengo su clave). Ya "
                            "la pedí; si no respondo pronto, por favor, envíalo de nuevo.",
    # -- pending: merged into the .po catalogues
    'err.name_empty': 'Un nombre necesita al menos una letra visible; prueba name:"Círculo del río".',
    'err.bad_setting': '{name} no se puede poner así ({problem}); escribe circle settings para ver los valores actuales.',
    'err.mood_whole': 'el ánimo {value} debe ser un número entero del 1 al 5 (1 es fatal, 5 es genial), como en checkin 3 cansada.',
    'help.args_head': 'Opciones:',
    'action.ack': 'Me encargo',
    'action.decline': 'Ahora no puedo',
    'circle.info_head': '{name}',
    'checkin.reply_circle_from_dm': 'Registrado; está publicado en la sala de {circle} para que el círculo lo vea.',
    'checkin.call_exists': 'Parece un día difícil. Si quieres hablar con alguien del círculo, escribe call y buscaré a alguien.',
    'lifeline.call_failed': 'Algo falló por mi parte y no pude abrir tu petición; por favor escribe call de nuevo en un momento.',
    'lifeline.emergency': 'Si estás en peligro inmediato, llama al número de emergencias de tu zona.',
    'lifeline.fallback_notice_unanswered': 'Una petición del salvavidas en {circle} avisó a personas pero nadie pudo responder a tiempo. La persona ha recibido los recursos de crisis. No se comparten detalles; estar disponible es la forma de ayudar.',
    'lifeline.resolved_untaken': 'Cerré la petición #{id}; nadie la había tomado aún y no avisaré a nadie más. Mañana te escribiré con cuidado salvo que dijeras followup:no.',
    'lifeline.resolved_to_claimer': 'La petición #{id} está resuelta. Gracias por estar ahí.',
    'lifeline.resolved_by_claimer': '{name} marcó la petición #{id} como resuelta. Mañana te escribiré con cuidado; escribe call resolve followup:no si prefieres que no.',
    'lifeline.resolved_claimer': 'Resuelta. Gracias por estar ahí; se lo he dicho.',
    'lifeline.followup_off': 'De acuerdo, mañana no te escribiré.',
    'lifeline.connected_other': 'Petición #{id}: ya constáis como conectados. Gracias.',
    'arg.step.n': 'qué paso, del 1 al 12',
    'arg.checkin.mood': 'de 1 (fatal) a 5 (genial), o una palabra como bajo o bien',
    'arg.checkin.note': 'unas palabras, si quieres',
    'arg.checkin.visibility': 'circle (todos), mentor, o private (tu diario)',
    'arg.checkin.anonymous': 'yes para publicar sin tu nombre',
    'arg.available.windows': 'cuándo pueden avisarte, p. ej. mon-fri 21:00-02:00, sat-sun any',
    'arg.available.emergency': 'yes para que te pregunten fuera de tus horarios si nadie más está disponible',
    'arg.call.note': 'qué pasa; solo lo ve quien lo tome',
    'arg.call.room': 'yes para contarle también a la sala que pediste (nunca la nota)',
    'arg.call.followup': 'no: sin mensaje al día siguiente',
    'setting.step_of_week': 'el paso que usan las rondas de reunión (0: ninguno)',
    'setting.name': 'el nombre del círculo',
    'setting.timezone': 'la zona horaria del círculo, p. ej. Europe/Madrid',
    'setting.language': 'el idioma del círculo (en o es)',
    'setting.followups': 'on: quien llega recibe mensajes amables el día 3 y el 7',
    'setting.retention_days': 'las notas de los registros se borran tras estos días',
    'setting.lifeline_note_days': 'las notas del salvavidas se borran estos días después de cerrar la petición',
    'setting.wave_size': 'personas avisadas por ronda',
    'setting.wave_minutes': 'minutos antes de la siguiente ronda',
    'setting.give_up_minutes': 'minutos antes del mensaje completo con los recursos de crisis',
    'setting.connect_minutes': 'minutos tras tomarla antes de preguntar a ambos "¿conectados?"',
    'setting.max_requests_per_day': 'peticiones que una persona puede abrir al día (los recursos nunca se niegan)',
    'setting.pages_per_15_minutes': 'avisos que recibe como máximo una persona cada 15 minutos',
    'setting.pages_per_night': 'avisos que recibe como máximo una persona por noche (12 horas)',
    'setting.emergency_wave': 'yes: una última ronda a quienes aceptan avisos de emergencia',
    'setting.crisis_resources': 'líneas de crisis que se muestran con cada petición, separadas por ;',
    'lifeline.resources_head': 'Aquí somos compañeros, no profesionales. Si necesitas ayuda antes, esto está disponible ahora:',
    'lifeline.finding': 'Estoy buscando a alguien para ti ahora (petición #{id}) y te diré aquí quién viene. call cancel lo detiene.',
    'lifeline.fallback': 'Aún no he podido encontrar a nadie para la petición #{id}, y lo siento. Si alguien dice que sí más tarde, te lo diré aquí. Por favor, no nos esperes:',
    'lifeline.you_took_it': 'Gracias por tomarla. Contacta ahora con {name} en {contact}. {note} Escucha y acompaña; si está en peligro, indícale: {resources}',
    'lifeline.resolved': 'Resuelta. Gracias a ambos. Mañana te escribiré con cuidado salvo que dijeras followup:no.',
}
