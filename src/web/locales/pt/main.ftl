# As páginas do cbm2 em português. As chaves levam o nome da página e do elemento. Cada
# chave existe também em en, es e fr (caso contrário, um teste falha). Os termos oficiais
# seguem protocol/templates/invocation.pt.txt.

site-name = cbm2
site-tagline = Medida de Fortalecimento da Confiança (MFC) n.º 2 da OEA no ciberespaço
format-datetime = %-d de %B de %Y, %H:%M

## Estrutura da página
layout-skip = Ir para o conteúdo
layout-nav = Principal
nav-dashboard = Painel
nav-checks = Verificações de comunicação
nav-staff = Equipe
nav-inbox = Caixa de entrada
nav-new-inquiry = Nova consulta
nav-directory = Diretório
nav-account = Conta
layout-signed-in-as = Sessão iniciada como { $name }
layout-secretariat = Secretaria do CICTE
layout-sign-out = Sair
layout-language = Idioma
layout-language-change = Alterar
layout-footer = O cbm2 encaminha as consultas entre os pontos de contato dos Estados membros da OEA no âmbito da MFC n.º 2 (parágrafo 78 da resolução AG/RES. 2925 (XLVIII-O/18)). Uma consulta não constitui uma acusação.
language-en = English
language-es = Español
language-fr = Français
language-pt = Português

## Erros
error-not-found-title = Página não encontrada
error-not-found-text = Esta página não existe ou o acesso a ela não está autorizado. Verifique o endereço ou recomece a partir da sua caixa de entrada.
error-forbidden-title = Ação não permitida
error-stale-form-title = Este formulário expirou
error-stale-form-text = O formulário foi aberto em outra sessão ou expirou. Volte à página anterior, recarregue-a e envie o formulário novamente.
error-bad-request-title = Este endereço não é válido
error-bad-request-text = A página não consegue interpretar este endereço. Recomece a partir da sua caixa de entrada.
error-internal-title = Ocorreu um erro
error-internal-text = O cbm2 não conseguiu exibir esta página. Nenhum dado foi perdido; tente novamente em alguns instantes. Se o problema persistir, informe o administrador do sistema.
error-too-many-title = Solicitações em excesso
error-too-many-text = Chegaram daqui solicitações demais em pouco tempo. Aguarde { $seconds } segundos e tente novamente.
error-home = Ir para a página inicial

## Acesso
sign-in-title = Entrar
sign-in-intro = O cbm2 envia um link de acesso ao endereço de e-mail registrado em seu nome no diretório de pontos de contato. Não é necessária senha.
sign-in-email = Endereço de e-mail
sign-in-email-hint = O endereço informado pelo seu Estado no registro como ponto de contato, ou o da sua conta da Secretaria.
sign-in-email-invalid = Informe um endereço de e-mail, por exemplo nome@ministerio.gov.br.
sign-in-send = Enviar-me um link de acesso
sign-in-no-account = Não consta do diretório? Solicite ao ponto de contato de nível político do seu Estado ou à Secretaria do CICTE que faça o seu registro.
sign-in-sent-title = Verifique seu e-mail
sign-in-sent-text = Se { $email } pertencer a um ponto de contato ou a uma conta da Secretaria, um link de acesso está sendo enviado para esse endereço.
sign-in-sent-expiry = O link pode ser usado uma única vez, em até 15 minutos. Se nenhum e-mail chegar, verifique a pasta de lixo eletrônico ou solicite um novo link.
sign-in-sent-again = Solicitar um novo link
sign-in-continue-title = Continuar para o cbm2
sign-in-continue-text = Clique no botão para entrar neste dispositivo.
sign-in-continue-button = Continuar
sign-in-continue-invalid = Este link de acesso já foi usado ou expirou. Cada link pode ser usado uma única vez, em até 15 minutos.

## Caixa de entrada
inbox-title = Caixa de entrada
inbox-filters = Filtrar as consultas
inbox-side = Sentido
inbox-side-all = Recebidas e enviadas
inbox-side-incoming = Recebidas (dirigidas ao meu Estado)
inbox-side-outgoing = Enviadas (pelo meu Estado)
inbox-status = Situação
inbox-status-any = Qualquer situação
inbox-overdue-only = Somente as com prazo vencido
inbox-apply = Aplicar
inbox-empty = Nenhuma consulta corresponde a esses critérios.
inbox-col-inquiry = Consulta
inbox-col-state = Outro Estado
inbox-col-status = Situação
inbox-col-deadline = Prazo
inbox-col-updated = Última alteração
inbox-incoming = Recebida
inbox-outgoing = Enviada
inbox-next-page = Consultas anteriores

## Situações e indicadores
status-draft = Rascunho
status-poc_identified = Ponto de contato identificado
status-cbm2_invoked = MFC n.º 2 invocada
status-incident_described = Incidente descrito
status-awaiting_response = Aguardando resposta
status-acknowledged = Recebimento confirmado
status-responded = Respondida
status-closed = Encerrada
status-withdrawn = Retirada
duration-days = { $n ->
    [one] { $n } dia
   *[other] { $n } dias
}
duration-hours = { $n ->
    [one] { $n } hora
   *[other] { $n } horas
}
duration-minutes = { $n ->
    [one] { $n } minuto
   *[other] { $n } minutos
}
badge-exercise = Exercício
badge-overdue = Prazo vencido
sensitivity-routine = Ordinária
sensitivity-urgent = Urgente
sensitivity-critical = Crítica
channel-phone = Telefone
channel-email = E-mail
channel-meeting = Reunião
channel-other = Outro
poc-role-policy = nível político
poc-role-technical = nível técnico
poc-role-mfa = relações exteriores

## Página da consulta
inquiry-title = Consulta
inquiry-exercise-banner = EXERCÍCIO: esta consulta faz parte de um exercício; não se trata de um incidente real.
inquiry-done = Registrado: { $action }.
inquiry-steps = Etapas da consulta
inquiry-summary = Resumo
inquiry-requesting-state = Estado solicitante
inquiry-responding-state = Estado consultado
inquiry-time-sensitivity = Grau de urgência
inquiry-created = Abertura
inquiry-sent = Envio
inquiry-acknowledged = Confirmação de recebimento
inquiry-responded = Resposta
inquiry-ended = Encerramento
inquiry-due = Prazo
inquiry-protocol = Protocolo
inquiry-version = versão { $version } do registro
inquiry-metadata-only = A Secretaria vê quando cada etapa ocorreu, nunca o que os Estados escreveram.
inquiry-record = A consulta
inquiry-requester = Ponto de contato solicitante
inquiry-responding-pocs = Pontos de contato consultados
inquiry-contact-provided = fornecidos em { $at }
inquiry-contact-awaited = solicitados, ainda não fornecidos
inquiry-shared-with = Compartilhada com
inquiry-invocation = Invocação da MFC n.º 2
inquiry-logged-contacts = Contatos fora do cbm2
inquiry-timeline = Cronologia
inquiry-chain-position = Entrada { $seq } do registro de auditoria
inquiry-due-local = { $state }: { $time }
inquiry-working-days = { $days } dias úteis do Estado que responde
inquiry-signed-record = Baixar o registro assinado (JSON)
inquiry-signed-record-hint = assinado por esta instância; qualquer pessoa pode verificá-lo offline com cbm2 audit verify-record e a chave pública da instância
action-attach-title = Anexar um arquivo como evidência
action-attach-submit = Anexar o arquivo
inquiry-evidence = Evidências
inquiry-evidence-size = { $size } bytes
inquiry-evidence-sha256 = SHA-256 { $hash }
inquiry-evidence-file = Arquivo
inquiry-evidence-hint = No máximo { $limit }. Tipos aceitos: { $types }. O outro Estado vê o nome, o tipo, o tamanho e o SHA-256 e o baixa; a Secretaria vê apenas que há um arquivo anexado.
inquiry-evidence-count = Arquivos anexados: { $count } (nomes e conteúdos são apenas para os dois Estados)
inquiry-attach-no-file = Escolha um arquivo para anexar.
inquiry-actions = O que é possível fazer agora
inquiry-review-before-sending = Revise a invocação e a descrição acima: ao enviá-las, elas serão entregues aos pontos de contato do Estado consultado.
inquiry-changed = A consulta foi alterada depois que esta página foi aberta. Ela é exibida em seu estado atual: verifique-a e envie o formulário novamente.

## Eventos
event-created = Rascunho aberto
event-lookup_poc = Busca dos pontos de contato
event-invoke = MFC n.º 2 invocada
event-describe = Incidente descrito
event-request_info = Solicitação de informações (enviada)
event-acknowledge = Confirmação de recebimento
event-update = Atualização
event-respond = Resposta
event-follow_up = Perguntas complementares
event-close = Encerrada
event-withdraw = Retirada
event-remind = Lembrete da Secretaria
event-deadline_reminder = Prazo próximo do vencimento
event-deadline_missed = Prazo não cumprido
event-message = Mensagem
event-log_contact = Contato fora do cbm2 registrado
event-share = Compartilhada dentro do Estado
event-unshare = Compartilhamento encerrado
event-attachment_added = Arquivo anexado
actor-secretariat = Secretaria do CICTE
actor-engine = cbm2
actor-unknown = Desconhecido

## Formulários de ação
action-lookup_poc-title = 1. Escolha o Estado consultado
action-lookup_poc-submit = Buscar seus pontos de contato
field-lookup_poc-member_state = Estado consultado
field-lookup_poc-member_state-hint = O Estado de cujo território a atividade parece se originar. Seus pontos de contato de nível político são obtidos do diretório.
action-invoke-title = 2. Invoque a MFC n.º 2
action-invoke-submit = Preparar a invocação
field-invoke-languages = Idiomas da invocação
field-invoke-languages-hint = Se nenhum for marcado, será usado o primeiro idioma dos pontos de contato consultados.
action-describe-title = 3. Descreva o incidente
action-describe-submit = Salvar a descrição
field-describe-nature = Natureza da atividade
field-describe-category = Categoria
field-describe-sectors = Setores afetados
field-describe-sectors-hint = Um por linha.
field-describe-observed_from = Observada desde
field-describe-observed_to = Observada até
field-describe-indicators = Indicadores técnicos
field-describe-indicators-hint = Um por linha: o tipo (ipv4, ipv6, domain, url, hash, email, other), um espaço e o valor. Por exemplo: ipv4 203.0.113.7
field-describe-indicators_stix = Indicadores como pacote STIX 2.1
field-describe-indicators_stix-hint = Opcional: cole um pacote exportado pelas ferramentas do seu CSIRT (JSON). Seus indicadores de uma só comparação, como [ipv4-addr:value = '203.0.113.7'], são somados aos de cima.
inquiry-indicators-stix = Baixar em STIX 2.1 (TLP:AMBER+STRICT)
action-request_info-title = 4. Solicite informações e envie a consulta
action-request_info-submit = Enviar a consulta
field-request_info-questions = Perguntas
field-request_info-contact = Seus dados de contato
field-request_info-contact-hint = Extraídos do seu registro no diretório; altere-os se necessário.
field-request_info-time_sensitivity = Grau de urgência
field-request_info-respond_by = Data-limite de resposta (opcional)
field-request_info-respond_by-hint = No seu fuso horário. Deixe em branco para aplicar o prazo correspondente ao grau de urgência.
action-acknowledge-title = Confirmar recebimento
action-acknowledge-submit = Enviar a confirmação de recebimento
field-acknowledge-estimated_timeframe = Prazo estimado de resposta
field-acknowledge-estimated_timeframe-hint = Em dias e horas, ou informe uma data abaixo.
field-acknowledge-estimated_working_days = Ou: dias úteis do seu Estado
field-acknowledge-estimated_working_days-hint = Contados em dias úteis do seu Estado, sem fins de semana nem feriados; o prazo vence ao fim do seu expediente.
field-acknowledge-respond_by = Ou data-limite de resposta
field-acknowledge-message = Mensagem
field-acknowledge-contact_requested = Solicitar os dados de contato do solicitante
action-update-title = Enviar uma atualização
action-update-submit = Enviar a atualização
field-update-message = Mensagem
field-update-estimated_timeframe = Novo prazo estimado de resposta
field-update-respond_by = Ou data-limite de resposta
field-update-reason = Motivo da alteração
action-respond-title = Responder
action-respond-submit = Enviar a resposta
field-respond-information = Informações
field-respond-third_states = Outros Estados envolvidos
action-follow_up-title = Fazer perguntas complementares
action-follow_up-submit = Enviar as perguntas complementares
field-follow_up-questions = Perguntas
field-follow_up-time_sensitivity = Grau de urgência
field-follow_up-respond_by = Data-limite de resposta (opcional)
action-close-title = Encerrar a consulta
action-close-submit = Encerrar
field-close-resolution = Conclusão
action-withdraw-title = Retirar a consulta
action-withdraw-submit = Retirar
field-withdraw-reason = Motivo
action-remind-title = Enviar um lembrete ao Estado consultado
action-remind-submit = Enviar um lembrete
action-message-title = Enviar uma mensagem
action-message-submit = Enviar a mensagem
field-message-text = Mensagem
field-message-contact = Dados de contato a fornecer (opcional)
action-log_contact-title = Registrar um contato fora do cbm2
action-log_contact-submit = Registrar o contato
field-log_contact-channel = Meio
field-log_contact-at = Data e hora
field-log_contact-summary = Resumo
action-share-title = Compartilhar com um colega do seu Estado
action-share-submit = Compartilhar
field-share-poc_id = Ponto de contato
action-unshare-title = Deixar de compartilhar
action-unshare-submit = Deixar de compartilhar
field-unshare-poc_id = Ponto de contato
form-required = (obrigatório)
form-choose = Selecione…
form-part-days = Dias
form-part-hours = Horas
form-part-name = Nome
form-part-email = E-mail
form-part-phone = Telefone
form-error-whole-number = Informe um número inteiro de 0 a 10.000.
form-error-datetime = Informe uma data e uma hora que existam no seu fuso horário.

## Nova consulta
new-title = Nova consulta
new-intro = Uma consulta solicita a outro Estado informações sobre uma atividade cibernética maliciosa que parece se originar em seu território. Ela é preparada em quatro etapas; nada chega ao outro Estado antes da última.
new-step-lookup = Escolha o Estado consultado: seus pontos de contato de nível político são obtidos do diretório.
new-step-invoke = Invoque a MFC n.º 2: o cbm2 redige a invocação nos termos do parágrafo 78 da resolução AG/RES. 2925 (XLVIII-O/18) no idioma escolhido, para sua revisão.
new-step-describe = Descreva o incidente e seus indicadores técnicos.
new-step-request = Formule suas perguntas, informe seus dados de contato e o grau de urgência; em seguida, envie a consulta.
new-not-accusation = Uma consulta não constitui uma acusação.
new-exercise = Trata-se de um exercício
new-exercise-hint = Os exercícios são identificados como tais em todo o sistema e excluídos dos números da Secretaria.
new-start = Iniciar o rascunho
new-policy-only = Somente um ponto de contato de nível político de um Estado participante pode abrir consultas.
